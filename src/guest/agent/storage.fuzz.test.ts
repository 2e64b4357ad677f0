/**
 * Hostile storages and OCI mounts from the (untrusted) host in CreateContainer: random drivers,
 * sources, types, options and paths drawn from pools of hostile values. Property: accepted, or
 * an `AgentError` with a code; an accepted bind mount's source always resolves inside the shared
 * folder or a storage root.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { describeStats, fuzz, type Rng } from "../../../test/helpers/fuzz.js";
import type { OciMount, Storage } from "../../protocol/agent/index.js";
import { AgentError } from "./errors.js";
import { agentPaths, checkMounts, checkStorage, isWithin } from "./storage.js";

const root = mkdtempSync(join(tmpdir(), "coco-agent-fuzz-"));
after(() => rmSync(root, { recursive: true, force: true }));
const paths = agentPaths(join(root, "run"));
mkdirSync(paths.shared, { recursive: true });
mkdirSync(join(paths.root, "c1", "rootfs"), { recursive: true });
writeFileSync(join(paths.shared, "hosts"), "x");
writeFileSync(join(root, "outside"), "secret");
symlinkSync(join(root, "outside"), join(paths.shared, "planted"));
symlinkSync("..", join(paths.shared, "up"));

const PROTO = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];

function pathPool(): string[] {
  return [
    join(paths.root, "c1", "rootfs"),
    join(paths.root, "c1", "vol"),
    join(paths.sandbox, "local", "v"),
    join(paths.sandbox, "ephemeral", "v"),
    join(paths.sandbox, "local"),
    paths.sandbox,
    join(paths.root, "c1", "..", "..", "etc"),
    join(paths.root, "c2", "x"),
    "/etc/passwd",
    "relative/path",
    "",
    "/",
    join(paths.shared, "hosts"),
    join(paths.shared, "planted"),
    join(paths.shared, "up", "..", "outside"),
    join(paths.shared, "up"),
    join(paths.shared, "missing"),
    "/proc/self/root",
    `${paths.sandbox}/local/../../../x`,
  ];
}

/** Mostly ordinary values, sometimes an Object.prototype name. */
function pick(rng: Rng, xs: string[]): string {
  return rng.chance(0.08) ? rng.pick(PROTO) : rng.pick(xs);
}

function storage(rng: Rng): Storage {
  const opts = [
    "nosuid",
    "nodev",
    "exec",
    "suid",
    "dev",
    "mode=0777",
    "mode=1777",
    "size=1g",
    "uid=0",
    "rw",
    "ro",
    "bind",
    "",
    ...PROTO,
  ];
  return {
    driver: pick(rng, [
      "image_guest_pull",
      "ephemeral",
      "local",
      "virtio-fs",
      "blk",
      "9p",
      "",
      ...PROTO,
    ]),
    driverOptions: [],
    source: pick(rng, ["tmpfs", "shm", "docker.io/library/busybox", "", "/dev/vda"]),
    fstype: pick(rng, ["tmpfs", "ext4", "", "bind"]),
    options: Array.from({ length: rng.int(4) }, () => pick(rng, opts)),
    mountPoint: pick(rng, pathPool()),
    shared: rng.chance(0.5),
  };
}

function mount(rng: Rng): OciMount {
  return {
    destination: pick(rng, [
      "/etc/hosts",
      "/data",
      "/proc",
      "/",
      "data",
      "/a/../b",
      "/dev/shm",
      ...PROTO,
    ]),
    source: pick(rng, [...pathPool(), "proc", "sysfs", "tmpfs", "shm", "cgroup"]),
    type: pick(rng, [
      "bind",
      "proc",
      "sysfs",
      "tmpfs",
      "devpts",
      "mqueue",
      "cgroup",
      "overlay",
      "",
      ...PROTO,
    ]),
    options: Array.from({ length: rng.int(3) }, () =>
      pick(rng, ["rbind", "bind", "ro", "rw", "nosuid"]),
    ),
  };
}

describe("agent storage/mount checks under a hostile host", () => {
  // Found by fuzzing: an OCI mount of type "valueOf" (any Object.prototype name) found a
  // function in the kernel-filesystem table and threw "kernel.includes is not a function".
  for (const type of PROTO) {
    test(`an OCI mount of type '${type}' is ERR_AGENT_MOUNT`, () => {
      assert.throws(
        () => checkMounts(paths, [{ destination: "/x", source: "proc", type, options: [] }], []),
        (e: unknown) => e instanceof AgentError && e.code === "ERR_AGENT_MOUNT",
      );
    });
  }

  test("random storages are accepted or refused with a coded AgentError", async (t) => {
    const stats = await fuzz({
      name: "agent-storage",
      seed: 0x570,
      iterations: 4000,
      errorClass: AgentError,
      gen: (rng) => ({ cid: pick(rng, ["c1", "", "c2", ".."]), s: storage(rng) }),
      target: ({ cid, s }) => checkStorage(paths, cid, s),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("random OCI mounts are accepted only from inside the allowed roots", async (t) => {
    const storageRoots = [join(paths.root, "c1"), join(paths.sandbox, "local")];
    mkdirSync(join(paths.sandbox, "local", "v"), { recursive: true });
    const allowed = [paths.shared, ...storageRoots].map((r) => realpathSync(r));
    const stats = await fuzz({
      name: "agent-mounts",
      seed: 0x571,
      iterations: 4000,
      errorClass: AgentError,
      gen: (rng) => Array.from({ length: 1 + rng.int(2) }, () => mount(rng)),
      target: (mounts) => {
        checkMounts(paths, mounts, storageRoots);
        for (const m of mounts) {
          if (m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind")) {
            if (["proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup"].includes(m.type)) continue;
            const real = realpathSync(m.source);
            assert.ok(
              allowed.some((r) => isWithin(r, real)),
              `accepted bind from ${real}`,
            );
          }
        }
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
