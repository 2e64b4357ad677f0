import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { defaultMounts } from "../../../oci/index.js";
import type { OciSpec } from "../../../protocol/agent/index.js";
import { makeBusyboxRootfs } from "./busybox-rootfs.js";
import { Container } from "./container.js";
import { createRunc, runcSkipReason } from "./runc.js";
import { toRuntimeSpec } from "./runtime-spec.js";

const work = mkdtempSync(join(tmpdir(), "coco-runc-"));
const rootfs = join(work, "rootfs");
const runcRoot = join(work, "runc");
let skip: string | false = false;

function spec(args: string[], extra: Partial<OciSpec> = {}): OciSpec {
  return {
    Version: "1.0.2",
    Process: {
      Terminal: false,
      Args: args,
      Env: ["PATH=/bin", "GREETING=hello"],
      Cwd: "/",
      NoNewPrivileges: true,
      ApparmorProfile: "",
      SelinuxLabel: "",
    },
    Hostname: "pod-host",
    Mounts: [],
    Annotations: {},
    ...extra,
  };
}

let seq = 0;
function container(args: string[]): Container {
  const id = `t${process.pid}-${++seq}`;
  const runc = createRunc({ root: runcRoot });
  return new Container(id, join(work, id), toRuntimeSpec(spec(args), { rootfs }), runc);
}

before(async () => {
  if (!makeBusyboxRootfs(rootfs)) {
    skip = "no static busybox at /bin/busybox";
    return;
  }
  const probe = join(work, "probe");
  mkdirSync(probe);
  writeFileSync(
    join(probe, "config.json"),
    JSON.stringify(toRuntimeSpec(spec(["/bin/true"]), { rootfs })),
  );
  skip = await runcSkipReason(runcRoot, probe);
});

after(() => rmSync(work, { recursive: true, force: true }));

test("runs a container and streams its stdout with the spec's env and hostname", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/sh", "-c", 'echo "$GREETING from $(cat /proc/sys/kernel/hostname)"']);
  assert.equal(c.status, "created");
  const p = c.start();
  const out = Buffer.from(await p.stdout.readAll()).toString();
  assert.equal(await p.exited, 0);
  assert.equal(out, "hello from pod-host\n");
  assert.equal(c.status, "stopped");
  await c.remove();
});

test("reports a non-zero exit status and stderr", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/sh", "-c", "echo oops >&2; exit 7"]);
  const p = c.start();
  assert.equal(Buffer.from(await p.stderr.readAll()).toString(), "oops\n");
  assert.equal(await p.exited, 7);
  await c.remove();
});

test("reads in chunks no larger than asked and signals EOF at the end", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/echo", "abcdefgh"]);
  const p = c.start();
  await p.exited;
  assert.equal(Buffer.from(await p.stdout.read(3)).toString(), "abc");
  assert.equal(Buffer.from(await p.stdout.read(100)).toString(), "defgh\n");
  await assert.rejects(p.stdout.read(10), (e: { code?: string }) => e.code === "ERR_AGENT_EOF");
  await c.remove();
});

test("streams output larger than the buffer with back-pressure, in reads of at most 1 MiB", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/cat", "/bin/busybox", "/bin/busybox", "/bin/busybox", "/bin/busybox"]);
  const p = c.start();
  const size = statSync(join(rootfs, "bin", "busybox")).size;
  let total = 0;
  let largest = 0;
  const hash = createHash("sha256");
  for (;;) {
    let chunk: Uint8Array;
    try {
      chunk = await p.stdout.read(0);
    } catch {
      break;
    }
    total += chunk.length;
    largest = Math.max(largest, chunk.length);
    hash.update(chunk);
  }
  assert.equal(await p.exited, 0);
  assert.equal(total, 4 * size);
  assert.ok(largest <= 1 << 20, `a read returned ${largest} bytes`);
  const want = createHash("sha256");
  const bin = readFileSync(join(rootfs, "bin", "busybox"));
  for (let i = 0; i < 4; i++) want.update(bin);
  assert.equal(hash.digest("hex"), want.digest("hex"));
  await c.remove();
});

test("feeds stdin and closes it", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/cat"]);
  const p = c.start();
  assert.equal(await p.stdin.write(new TextEncoder().encode("ping\n")), 5);
  p.stdin.close();
  assert.equal(Buffer.from(await p.stdout.readAll()).toString(), "ping\n");
  assert.equal(await p.exited, 0);
  await c.remove();
});

test("execs into a running container, then kills it", async (t) => {
  if (skip) return t.skip(skip);
  const c = container(["/bin/sleep", "30"]);
  const init = c.start();
  // runc needs the container to exist before exec: wait until state says running.
  const runc = createRunc({ root: runcRoot });
  for (let i = 0; i < 100 && (await runc.state(c.id))?.status !== "running"; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ex = c.exec("e1", {
    Terminal: false,
    Args: ["/bin/sh", "-c", "echo in-$GREETING"],
    Env: [],
    Cwd: "/",
    NoNewPrivileges: true,
    ApparmorProfile: "",
    SelinuxLabel: "",
  });
  assert.equal(Buffer.from(await ex.stdout.readAll()).toString(), "in-hello\n");
  assert.equal(await ex.exited, 0);
  await c.signal(9);
  assert.equal(await init.exited, 137);
  await c.remove();
  assert.equal(await runc.state(c.id), undefined);
});

test("refuses a spec with nothing to run", () => {
  assert.throws(
    () => toRuntimeSpec(spec([]), { rootfs }),
    (e: { code?: string }) => e.code === "ERR_AGENT_SPEC",
  );
});

test("applies Linux.Resources through runc: the limits are in the container's own cgroup", async (t) => {
  if (skip) return t.skip(skip);
  const id = `t${process.pid}-${++seq}`;
  const s = spec(
    [
      "/bin/sh",
      "-c",
      'if [ -e /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cpu.max; else cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi',
    ],
    {
      Mounts: [
        ...defaultMounts().map((m) => ({ ...m, options: [...(m.options ?? [])] })),
        {
          destination: "/sys/fs/cgroup",
          type: "cgroup",
          source: "cgroup",
          options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
        },
      ],
      Linux: {
        UIDMappings: [],
        GIDMappings: [],
        Sysctl: {},
        CgroupsPath: "",
        Namespaces: [],
        Devices: [],
        RootfsPropagation: "",
        MaskedPaths: [],
        ReadonlyPaths: [],
        MountLabel: "",
        Resources: {
          Devices: [],
          HugepageLimits: [],
          Memory: { Limit: 32n << 20n, Swap: 32n << 20n },
          CPU: { Shares: 512n, Quota: 25_000n, Period: 100_000n },
        },
      },
    },
  );
  const c = new Container(
    id,
    join(work, id),
    toRuntimeSpec(s, { rootfs }),
    createRunc({ root: runcRoot }),
  );
  const p = c.start();
  const out = Buffer.from(await p.stdout.readAll()).toString();
  assert.equal(await p.exited, 0);
  assert.equal(out, `${32 << 20}\n25000 100000\n`);
  await c.remove();
  const withDevices = {
    ...s.Linux!,
    Resources: { Devices: [{ Allow: true }], HugepageLimits: [] },
  };
  assert.throws(
    () => toRuntimeSpec({ ...s, Linux: withDevices }, { rootfs }),
    (e: { code?: string }) => e.code === "ERR_AGENT_SPEC",
  );
});

test("refuses a host-sent namespace type that names an inherited property", () => {
  for (const Type of ["constructor", "__proto__", "toString"]) {
    const s = spec(["/bin/true"]);
    s.Linux = { ...(s.Linux ?? {}), Namespaces: [{ Type, Path: "" }] } as typeof s.Linux;
    assert.throws(
      () => toRuntimeSpec(s, { rootfs }),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_AGENT_SPEC" && /unknown namespace/.test(e.message ?? ""),
    );
  }
});
