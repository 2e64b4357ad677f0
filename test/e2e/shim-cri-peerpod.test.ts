// run-tests: timeout 20 min (a peer pod per provider through containerd's CRI; the libvirt one boots a VM under TCG, up to the adaptor's 600 s start limit on a busy host)
/**
 * Peer pods through containerd-shim-coco-v2 under a real containerd 2.x, driven with crictl as
 * kubelet does (`runp --runtime coco-remote`): the shim's remote sandbox asks the node's
 * `coco peerpod-adaptor` for the pod VM, and the pod runs in it. Once with the process provider
 * and once with the libvirt provider (a real VM through a private libvirtd). Checked: the output
 * comes back through the adaptor's proxy, exec is refused by the policy in the VM, stopp/rmp
 * delete the VM and everything made for it, and the shim leaves nothing on the node.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createProcessProvider, type Provider } from "../../src/host/peerpod/index.js";
import { createLibvirtProvider } from "../../src/host/peerpod/libvirt/index.js";
import { TAGS } from "../../src/host/peerpod/names.js";
import { cleanUpOnExit } from "../helpers/cleanup.js";
import {
  assertPodGone,
  type CocoCri,
  cocoCriSkip,
  makePod,
  runPod,
  startCocoCri,
  waitLogs,
} from "../helpers/coco-cri.js";
import {
  libvirtdUnavailable,
  type PrivateLibvirtd,
  startPrivateLibvirtd,
} from "../helpers/libvirtd.js";
import { type AdaptorProcess, startAdaptorProcess } from "../helpers/peerpod.js";

const POOL = "coco-shim";

for (const provider of ["process", "libvirt"] as const) {
  describe(`peer pods through containerd-shim-coco-v2 under containerd's CRI: ${provider} provider`, async () => {
    const skip =
      cocoCriSkip() ||
      (provider === "libvirt"
        ? process.env.COCO_SKIP_VM_TESTS === "1"
          ? "COCO_SKIP_VM_TESTS=1"
          : libvirtdUnavailable()
        : false);
    const dir = mkdtempSync(join(tmpdir(), `coco-shim-pp-${provider}-`));
    const reap = cleanUpOnExit(dir);
    let lv: PrivateLibvirtd | undefined;
    let adaptor: AdaptorProcess | undefined;
    let c: CocoCri | undefined;
    const saved = process.env.COCO_PEERPOD_SOCKET;
    const makeProvider = (): Provider =>
      provider === "process"
        ? createProcessProvider({ dir: join(dir, "peerpod", "instances") })
        : createLibvirtProvider({ uri: lv!.uri, pool: POOL, poolDir: lv!.poolDir });

    before(async () => {
      if (skip) return;
      let args: string[] = [];
      if (provider === "libvirt") {
        lv = await startPrivateLibvirtd(dir);
        args = ["--libvirt-uri", lv.uri, "--libvirt-pool", POOL, "--libvirt-pool-dir", lv.poolDir];
      }
      adaptor = await startAdaptorProcess(dir, provider, args);
      // containerd passes its environment to the shims it starts: this is how the shim's remote
      // sandbox finds the node's adaptor (the default being /run/peerpod/hypervisor.sock).
      process.env.COCO_PEERPOD_SOCKET = adaptor.socket;
      c = await startCocoCri({ handlers: ["coco-dev", "coco-remote"] });
    });

    after(async () => {
      await c?.stop();
      if (saved === undefined) delete process.env.COCO_PEERPOD_SOCKET;
      else process.env.COCO_PEERPOD_SOCKET = saved;
      await adaptor?.stop();
      await lv?.stop();
      reap();
    });

    test("runp --runtime coco-remote, create, start, logs; exec refused by policy in the VM; stopp and rmp delete the VM; nothing left", {
      skip,
    }, async () => {
      const p = await makePod(
        `shim-pp-${provider}`,
        "echo hello from the peer pod; echo kernel=$(uname -r); while :; do sleep 1; done",
        { allowLogs: true },
        { handler: "coco-remote" },
      );
      const { sid, cid } = await runPod(p);
      const logs = await waitLogs(cid, "kernel=", 120_000);
      assert.match(logs, /hello from the peer pod/);
      const [vm, ...more] = await makeProvider().list({});
      assert.equal(more.length, 0, "one VM");
      assert.equal(vm?.state, "running");
      assert.equal(vm?.tags[TAGS.podName], p.name, JSON.stringify(vm));
      // The libvirt VM has its own kernel (the pod VM image's); the process "VM" shares the node's.
      const kernel = /kernel=(\S+)/.exec(logs)?.[1];
      if (provider === "libvirt") assert.notEqual(kernel, release(), "the pod ran in the VM");
      else assert.equal(kernel, release());
      const ex = await c!.h.crictl(["exec", cid, "cat", "/etc/shadow"], { timeoutMs: 120_000 });
      assert.notEqual(ex.status, 0);
      assert.match(ex.stderr, /ExecProcessRequest is blocked by policy/);
      await c!.h.crictlOk(["stop", cid], { timeoutMs: 120_000 });
      await c!.h.crictlOk(["rm", cid]);
      await c!.h.crictlOk(["stopp", sid], { timeoutMs: 180_000 });
      await c!.h.crictlOk(["rmp", sid], { timeoutMs: 180_000 });
      await assertPodGone(sid);
      assert.deepEqual(await makeProvider().list({}), [], "no VM is left");
      if (provider === "libvirt") {
        const virsh = (...a: string[]) =>
          execFileSync("virsh", ["-c", lv!.uri, "-q", ...a], { encoding: "utf8" });
        assert.equal(virsh("list", "--all", "--name").trim(), "", "no domain is left");
        assert.equal(virsh("vol-list", POOL).trim(), "", "no volume is left");
      }
    });
  });
}
