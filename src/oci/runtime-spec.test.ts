import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runtimeSpec } from "./bundle.js";
import type { ImageConfig } from "./manifest.js";
import {
  buildRuntimeSpec,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
} from "./runtime-spec.js";

test("defaultMounts gives containerd's six mounts as fresh copies a caller may edit", () => {
  const a = defaultMounts();
  assert.deepEqual(
    a.map((m) => m.destination),
    ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"],
  );
  a[0]?.options.push("changed");
  a.pop();
  const b = defaultMounts();
  assert.equal(b.length, 6);
  assert.deepEqual(b[0]?.options, ["nosuid", "noexec", "nodev"]);
});

test("buildRuntimeSpec adds no terminal, RLIMIT_NOFILE 1024 and a deny-all device cgroup", () => {
  const spec = buildRuntimeSpec({
    ociVersion: "1.1.0",
    process: {
      user: { uid: 1, gid: 2 },
      args: ["/bin/true"],
      env: [DEFAULT_PATH_ENV],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: "pid" }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  });
  assert.equal(spec.process.terminal, false);
  assert.deepEqual(spec.process.rlimits, [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
  assert.deepEqual(spec.linux.resources, { devices: [{ allow: false, access: "rwm" }] });
  assert.equal("hostname" in spec, false);
  assert.equal("annotations" in spec, false);
  assert.deepEqual(spec.process.user, { uid: 1, gid: 2 });
});

test("an image bundle keeps oci-spec-rs's defaults: bare /proc, devpts gid=5, a cgroup mount, volumes as tmpfs", () => {
  const rootfs = mkdtempSync(join(tmpdir(), "coco-spec-"));
  try {
    const image: ImageConfig = {
      os: "linux",
      architecture: "amd64",
      config: { Cmd: ["/app"], Volumes: { "/data": {} } },
      rootfs: { type: "layers", diff_ids: [] },
    };
    const spec = runtimeSpec(image, rootfs);
    const byDest = new Map(spec.mounts.map((m) => [m.destination, m]));
    assert.deepEqual(byDest.get("/proc"), { destination: "/proc", type: "proc", source: "proc" });
    assert.ok(byDest.get("/dev/pts")?.options?.includes("gid=5"));
    assert.equal(byDest.get("/sys/fs/cgroup")?.type, "cgroup");
    assert.equal(byDest.get("/data")?.type, "tmpfs");
    assert.equal(spec.hostname, "coco");
    assert.deepEqual(spec.process.capabilities?.bounding, [
      "CAP_AUDIT_WRITE",
      "CAP_KILL",
      "CAP_NET_BIND_SERVICE",
    ]);
    assert.deepEqual(spec.process.env, [DEFAULT_PATH_ENV]);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
});
