// run-tests: timeout 30 min (peer pods in real libvirt VMs under TCG: three VM boots, ~2.5 min in all on a quiet host; each pod may take the adaptor's 600 s start limit on a busy one)
// Peer pods end to end with the libvirt provider: a private libvirtd (session mode, as nobody),
// the pod VM image from scripts/build-podvm-image, QEMU under TCG where KVM cannot run a guest.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLibvirtProvider } from "../../src/host/peerpod/libvirt/index.js";
import { FORWARDER_PORT } from "../../src/protocol/peerpod/index.js";
import {
  libvirtdUnavailable,
  type PrivateLibvirtd,
  startPrivateLibvirtd,
} from "../helpers/libvirtd.js";
import { peerPodEndToEnd } from "./peerpod-e2e.js";

let lv: PrivateLibvirtd | undefined;
const POOL = "coco-e2e";

peerPodEndToEnd({
  provider: "libvirt",
  skip: async () =>
    process.env.COCO_SKIP_VM_TESTS === "1" ? "COCO_SKIP_VM_TESTS=1" : libvirtdUnavailable(),
  adaptorArgs: async (dir) => {
    lv = await startPrivateLibvirtd(dir);
    return ["--libvirt-uri", lv.uri, "--libvirt-pool", POOL, "--libvirt-pool-dir", lv.poolDir];
  },
  makeProvider: () => createLibvirtProvider({ uri: lv!.uri, pool: POOL, poolDir: lv!.poolDir }),
  assertNothingLeft: async () => {
    const virsh = (...a: string[]) =>
      execFileSync("virsh", ["-c", lv!.uri, "-q", ...a], { encoding: "utf8" });
    assert.equal(virsh("list", "--all", "--name").trim(), "", "no domain is left");
    assert.equal(virsh("vol-list", POOL).trim(), "", "no volume is left");
  },
  // The VM reports the TCP sockets listening in it once it serves (its console, a volume in the
  // pool): the forwarder on every address, and otherwise only loopback (the development port
  // forwards to this host's Trustee and registry), so nothing but the forwarder is reachable.
  assertVmListeners: async () => {
    const consoles = readdirSync(lv!.poolDir).filter((f) => f.endsWith("-console.log"));
    assert.equal(consoles.length, 1, `one VM console: ${consoles.join(" ")}`);
    const text = readFileSync(join(lv!.poolDir, consoles[0]!), "utf8");
    const line = /listening sockets: ([^\r\n]*)/.exec(text);
    assert.ok(line, `the VM reported its listening sockets:\n${text.slice(-2000)}`);
    const sockets = line[1]!.trim().split(/\s+/);
    assert.ok(sockets.includes(`0.0.0.0:${FORWARDER_PORT}`), sockets.join(" "));
    for (const s of sockets)
      if (s !== `0.0.0.0:${FORWARDER_PORT}`)
        assert.match(
          s,
          /^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/,
          `${s} listens beyond the VM's loopback`,
        );
  },
  podTimeoutMs: 600_000,
  teardown: async () => lv?.stop(),
});
