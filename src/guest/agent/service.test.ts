import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pushBusyboxImage } from "../../../test/helpers/busybox-image.js";
import { startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { acceptAnything } from "../../oci/pull.js";
import type {
  CopyFileRequest,
  CreateContainerRequest,
  CreateSandboxRequest,
  Storage,
} from "../../protocol/agent/index.js";
import { makeBusyboxRootfs } from "./container/busybox-rootfs.js";
import { createRunc, runcSkipReason } from "./container/runc.js";
import { toRuntimeSpec } from "./container/runtime-spec.js";
import { AgentError } from "./errors.js";
import { createRegistryPuller } from "./registry-puller.js";
import { AgentService } from "./service.js";
import { agentPaths } from "./storage.js";

const work = mkdtempSync(join(tmpdir(), "coco-agent-svc-"));
const paths = agentPaths(join(work, "run"));
let registry: TestRegistry | undefined;
let image = "";
let skip: string | false = false;

const noCdh = {
  unseal: async (): Promise<Uint8Array> => {
    throw new AgentError("ERR_AGENT_UNSEAL", "no CDH in this test");
  },
};

function service(): AgentService {
  return new AgentService({
    paths,
    runc: createRunc({ root: join(work, "runc") }),
    images: createRegistryPuller({ verify: acceptAnything, insecureRegistries: [registry!.host] }),
    secrets: noCdh,
  });
}

function imageStorage(cid: string, source = image): Storage {
  return {
    driver: "image_guest_pull",
    driverOptions: [],
    source,
    fstype: "overlay",
    options: [],
    mountPoint: join(paths.root, cid, "rootfs"),
    shared: false,
  };
}

function ccr(
  cid: string,
  args: string[],
  over: Partial<CreateContainerRequest> = {},
): CreateContainerRequest {
  return {
    containerId: cid,
    execId: cid,
    devices: [],
    storages: [imageStorage(cid)],
    sandboxPidns: false,
    sharedMounts: [],
    OCI: {
      Version: "1.1.0",
      Process: {
        Terminal: false,
        Args: args,
        Env: ["PATH=/bin"],
        Cwd: "/",
        NoNewPrivileges: true,
        ApparmorProfile: "",
        SelinuxLabel: "",
      },
      Root: { Path: join(paths.root, cid, "rootfs"), Readonly: false },
      Hostname: "",
      Mounts: [],
      Annotations: {},
    },
    ...over,
  };
}

/** A CreateSandboxRequest with nothing but an id and a hostname. */
function sandbox(sandboxId: string, hostname = ""): CreateSandboxRequest {
  return {
    hostname,
    dns: [],
    storages: [],
    sandboxPidns: false,
    sandboxId,
    guestHookPath: "",
    kernelModules: [],
  };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

before(async () => {
  const probe = join(work, "probe");
  mkdirSync(probe);
  makeBusyboxRootfs(join(probe, "rootfs"));
  writeFileSync(
    join(probe, "config.json"),
    JSON.stringify(
      toRuntimeSpec(
        {
          Version: "1.0.2",
          Process: {
            Terminal: false,
            Args: ["/bin/true"],
            Env: [],
            Cwd: "/",
            NoNewPrivileges: true,
            ApparmorProfile: "",
            SelinuxLabel: "",
          },
          Hostname: "",
          Mounts: [],
          Annotations: {},
        },
        { rootfs: join(probe, "rootfs") },
      ),
    ),
  );
  skip = await runcSkipReason(join(work, "runc"), probe);
  if (skip) return;
  registry = await startRegistry("plain");
  image = (await pushBusyboxImage(registry.host)).pinned;
});

after(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("agent service over real runc and a real registry", () => {
  test("pulls the image in the guest, runs the container, streams output, reports status", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    await svc.createSandbox(sandbox("sb1", "pod"));
    await svc.createContainer(
      ccr("c1", [
        "/bin/sh",
        "-c",
        "echo out-$(cat /proc/sys/kernel/hostname); echo err >&2; exit 3",
      ]),
    );
    await svc.startContainer("c1");
    const p = svc.process("c1", "");
    assert.equal(Buffer.from(await p.stdout.readAll()).toString(), "out-pod\n");
    assert.equal(Buffer.from(await p.stderr.readAll()).toString(), "err\n");
    assert.equal(await svc.waitProcess("c1", ""), 3);
    await svc.removeContainer("c1");
    assert.equal(existsSync(join(paths.root, "c1")), false);
    await svc.destroySandbox();
  });

  test("refuses a second sandbox, hook paths and kernel modules", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    const base = sandbox("sb2");
    await assert.rejects(
      svc.createSandbox({ ...base, guestHookPath: "/usr/share/oci/hooks" }),
      code("ERR_AGENT_SPEC"),
    );
    await assert.rejects(
      svc.createSandbox({ ...base, kernelModules: [{ name: "x", parameters: [] }] }),
      code("ERR_AGENT_SPEC"),
    );
    await svc.createSandbox(base);
    await assert.rejects(svc.createSandbox(base), code("ERR_AGENT_SANDBOX_EXISTS"));
    await svc.destroySandbox();
  });

  test("refuses host-backed storages, misplaced image storages and bind mounts from guest paths", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    await svc.createSandbox(sandbox("sb3"));
    const virtiofs: Storage = {
      ...imageStorage("c2"),
      driver: "virtio-fs",
      source: "kataShared",
      mountPoint: join(paths.root, "c2", "x"),
    };
    await assert.rejects(
      svc.createContainer(ccr("c2", ["/bin/true"], { storages: [imageStorage("c2"), virtiofs] })),
      code("ERR_AGENT_STORAGE"),
    );
    const elsewhere = { ...imageStorage("c2"), mountPoint: join(paths.root, "c3", "rootfs") };
    await assert.rejects(
      svc.createContainer(ccr("c2", ["/bin/true"], { storages: [elsewhere] })),
      code("ERR_AGENT_STORAGE"),
    );
    const req = ccr("c2", ["/bin/true"]);
    req.OCI!.Mounts = [
      { destination: "/host-etc", source: "/etc", type: "bind", options: ["rbind"] },
    ];
    await assert.rejects(svc.createContainer(req), code("ERR_AGENT_MOUNT"));
    // A symlink in the shared folder that points out of it is followed and refused.
    mkdirSync(paths.shared, { recursive: true });
    symlinkSync("/etc", join(paths.shared, "sneaky"));
    const req2 = ccr("c4", ["/bin/true"]);
    req2.OCI!.Mounts = [
      { destination: "/x", source: join(paths.shared, "sneaky"), type: "bind", options: ["rbind"] },
    ];
    await assert.rejects(svc.createContainer(req2), code("ERR_AGENT_MOUNT"));
    await svc.destroySandbox();
  });

  test("refuses an image whose digest does not match the pinned reference", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    await svc.createSandbox(sandbox("sb4"));
    const wrong = image.replace(/@sha256:[0-9a-f]{8}/, "@sha256:00000000");
    await assert.rejects(
      svc.createContainer(ccr("c5", ["/bin/true"], { storages: [imageStorage("c5", wrong)] })),
      code("ERR_AGENT_IMAGE_PULL"),
    );
    await svc.destroySandbox();
  });

  test("a sealed env value that cannot be unsealed fails the container instead of leaking through", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    await svc.createSandbox(sandbox("sb5"));
    const req = ccr("c6", ["/bin/env"]);
    req.OCI!.Process!.Env.push("SECRET=sealed.fakejws.payload.sig");
    await assert.rejects(svc.createContainer(req), code("ERR_AGENT_UNSEAL"));
    await svc.destroySandbox();
  });
});

describe("stats, limits and OOM events through runc", () => {
  test("reports cgroup stats, applies a memory limit, and reports the OOM kill it causes", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service();
    await svc.createSandbox(sandbox("sb6"));
    // Waits for a go file, then grows a shell variable until the memory limit kills it.
    await svc.createContainer(
      ccr("c7", [
        "/bin/sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; x=aaaaaaaa; while true; do x=$x$x; done",
      ]),
    );
    await svc.startContainer("c7");
    const stats = (await svc.statsContainer("c7")) as {
      cgroupStats: { pidsStats: { current: bigint }; memoryStats: { usage?: { usage: bigint } } };
    };
    assert.ok(stats.cgroupStats.pidsStats.current >= 1n);
    assert.ok((stats.cgroupStats.memoryStats.usage?.usage ?? 0n) > 0n);
    await svc.updateContainer("c7", { Memory: { Limit: 16n << 20n, Swap: 16n << 20n } });
    const after = (await svc.statsContainer("c7")) as {
      cgroupStats: { memoryStats: { usage?: { limit: bigint } } };
    };
    assert.equal(after.cgroupStats.memoryStats.usage?.limit, 16n << 20n);
    await assert.rejects(
      svc.updateContainer("c7", { Devices: [{ Allow: true }] }),
      code("ERR_AGENT_SPEC"),
    );
    const oom = svc.nextOom();
    writeFileSync(join(paths.root, "c7", "rootfs", "tmp", "go"), "");
    assert.equal(await oom, "c7");
    assert.equal(await svc.waitProcess("c7", ""), 137);
    await svc.destroySandbox();
  });
});

describe("CopyFile confinement", () => {
  const base = join(work, "copy");
  const copy = (over: Partial<CopyFileRequest>) => {
    const svc = new AgentService({
      paths: { ...paths, shared: base },
      runc: createRunc({ root: join(work, "runc") }),
      images: { pull: async () => ({ manifestDigest: "" }) },
      secrets: noCdh,
    });
    const data = over.data ?? new TextEncoder().encode("hello");
    svc.copyFile({
      path: join(base, "f"),
      fileSize: BigInt(data.length),
      fileMode: 0o100644,
      dirMode: 0o750,
      uid: 0,
      gid: 0,
      offset: 0n,
      data,
      ...over,
    });
  };

  test("writes a file atomically with its mode", () => {
    copy({ path: join(base, "a", "b.txt") });
    assert.equal(readFileSync(join(base, "a", "b.txt"), "utf8"), "hello");
    assert.equal(lstatSync(join(base, "a", "b.txt")).mode & 0o777, 0o644);
  });

  test("refuses paths outside the shared folder, with .., or not canonical", () => {
    assert.throws(() => copy({ path: "/etc/passwd" }), code("ERR_AGENT_COPY_FILE"));
    assert.throws(() => copy({ path: `${base}/../escape` }), code("ERR_AGENT_COPY_FILE"));
    assert.throws(() => copy({ path: `${base}//x` }), code("ERR_AGENT_COPY_FILE"));
    assert.throws(() => copy({ path: "relative/x" }), code("ERR_AGENT_COPY_FILE"));
  });

  test("refuses to write through a symlink planted earlier", () => {
    copy({
      path: join(base, "d", "link"),
      fileMode: 0o120777,
      data: new TextEncoder().encode("sub"),
      fileSize: 3n,
    });
    mkdirSync(join(work, "outside"), { recursive: true });
    // Even a link whose target is inside is refused as a path component.
    assert.throws(() => copy({ path: join(base, "d", "link", "x") }), code("ERR_AGENT_COPY_FILE"));
    symlinkSync(join(work, "outside"), join(base, "evil"));
    assert.throws(() => copy({ path: join(base, "evil", "x") }), code("ERR_AGENT_COPY_FILE"));
    assert.equal(existsSync(join(work, "outside", "x")), false);
  });

  test("refuses absolute, .. and top-level symlinks", () => {
    const link = (target: string, path = join(base, "s", "l")) =>
      copy({
        path,
        fileMode: 0o120777,
        data: new TextEncoder().encode(target),
        fileSize: BigInt(target.length),
      });
    assert.throws(() => link("/etc/shadow"), code("ERR_AGENT_COPY_FILE"));
    assert.throws(() => link("../../etc"), code("ERR_AGENT_COPY_FILE"));
    assert.throws(() => link("x", join(base, "top")), code("ERR_AGENT_COPY_FILE"));
  });

  test("refuses chunks outside the declared size and oversized files", () => {
    assert.throws(() => copy({ fileSize: 2n }), code("ERR_AGENT_COPY_FILE"));
    assert.throws(
      () => copy({ fileSize: BigInt(1 << 30), offset: 5n }),
      code("ERR_AGENT_COPY_FILE"),
    );
  });
});
