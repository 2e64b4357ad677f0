import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseDocument } from "yaml";
import { pushBusyboxImage } from "../../../test/helpers/busybox-image.js";
import { startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { type GenerateOptions, generatePolicy } from "../genpolicy/generate.js";
import { createProcessSandboxBackend, stopProcessSandbox } from "../sandbox/process.js";
import { AgentClient } from "./agent-client.js";
import { fetchImageInfo } from "./image-config.js";
import { parsePod } from "./pod.js";
import { type RunOptions, runPod } from "./run.js";
import { isAlive, loadPod } from "./state.js";

const work = mkdtempSync(join(tmpdir(), "coco-run-"));
const backend = createProcessSandboxBackend();
let registry: TestRegistry | undefined;
let image = "";
let skip: string | false = false;

const manifest = (name: string, command: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(command)}]
${extra}`;

async function generated(yaml: string, o: GenerateOptions = {}): Promise<string> {
  const pod = parsePod(yaml);
  const images = new Map();
  for (const c of pod.containers) images.set(c.image, await fetchImageInfo(c.image));
  return generatePolicy(yaml, pod, images, o).yaml;
}

async function run(yaml: string, keep = false, more: Partial<RunOptions> = {}) {
  const out: string[] = [];
  const events: string[] = [];
  const r = await runPod(parsePod(yaml), {
    backend,
    stateRoot: join(work, "state"),
    keep,
    detach: keep,
    onOutput: (c, s, chunk) => out.push(`${c}/${s}:${Buffer.from(chunk).toString()}`),
    onEvent: (e) => {
      events.push(e);
      if (process.env.COCO_DEBUG) console.error(e);
    },
    ...more,
  });
  return { r, out: out.join(""), events };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

before(async () => {
  skip = await backend.unavailable();
  if (skip) return;
  registry = await startRegistry("plain");
  image = (await pushBusyboxImage(registry.host)).tagged;
});

after(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("coco run with the process sandbox, real runc and a real registry", () => {
  test("runs the pod and streams its output when the policy allows log reads", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(
      manifest("logs-ok", "echo hello from $(cat /proc/sys/kernel/hostname)"),
      { allowLogs: true },
    );
    const { r, out } = await run(yaml);
    assert.equal(r.exitCode, 0);
    assert.equal(out, "app/stdout:hello from logs-ok\n");
  });

  test("hides the output from the host when the policy denies log reads", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("logs-denied", "echo secret-output"));
    const { r, out, events } = await run(yaml);
    assert.equal(r.exitCode, 0);
    assert.equal(out, "");
    assert.ok(events.some((e) => /app stdout: hidden from the host by the pod's policy/.test(e)));
  });

  test("a container that exits non-zero gives the pod that status", async (t) => {
    if (skip) return t.skip(skip);
    const { r } = await run(await generated(manifest("exit-3", "exit 3")));
    assert.equal(r.exitCode, 3);
  });

  test("refuses a pod without init-data (the sandbox would deny everything)", async (t) => {
    if (skip) return t.skip(skip);
    await assert.rejects(run(manifest("no-initdata", "true")), code("ERR_POD_INITDATA"));
  });

  test("a host-changed command is refused by the policy in the sandbox", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("tampered", "echo fine"));
    const evil = yaml.replace("echo fine", "cat /etc/shadow");
    assert.notEqual(evil, yaml);
    await assert.rejects(
      run(evil),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_POLICY_DENIED" &&
        /CreateContainerRequest is blocked by policy/.test(e.message ?? ""),
    );
  });

  test("an init container hands data to the app through an emptyDir volume", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = `apiVersion: v1
kind: Pod
metadata:
  name: init-pod
spec:
  runtimeClassName: coco-dev
  initContainers:
  - name: prepare
    image: ${image}
    command: ["/bin/sh", "-c", "echo prepared > /work/note"]
    volumeMounts:
    - name: work
      mountPath: /work
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "cat /work/note"]
    volumeMounts:
    - name: work
      mountPath: /work
  volumes:
  - name: work
    emptyDir: {}
`;
    const { r, out } = await run(await generated(yaml, { allowLogs: true }));
    assert.equal(r.exitCode, 0);
    assert.equal(out, "app/stdout:prepared\n");
    assert.deepEqual(
      r.statuses.map((s) => s.name),
      ["prepare", "app"],
    );
  });

  test("the container's securityContext is honoured: read-only rootfs, capabilities dropped", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = manifest(
      "hardened",
      "if touch /x 2>/dev/null; then echo writable; else echo read-only; fi; grep CapEff /proc/self/status",
      "    securityContext:\n      readOnlyRootFilesystem: true\n      allowPrivilegeEscalation: false\n      capabilities:\n        drop: [ALL]\n",
    );
    const { r, out } = await run(await generated(yaml, { allowLogs: true }));
    assert.equal(r.exitCode, 0);
    assert.match(out, /read-only/);
    assert.match(out, /CapEff:\s+0000000000000000/);
  });

  test("a host-injected env variable, mount or image swap is refused by the policy", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("injected", "echo fine"));
    const denied = (e: { code?: string; message?: string }) =>
      e.code === "ERR_POLICY_DENIED" &&
      /CreateContainerRequest is blocked by policy/.test(e.message ?? "");
    const edit = (f: (d: ReturnType<typeof parseDocument>) => void) => {
      const d = parseDocument(yaml);
      f(d);
      return d.toString();
    };
    const env = edit((d) =>
      d.setIn(["spec", "containers", 0, "env"], [{ name: "LD_PRELOAD", value: "/tmp/evil.so" }]),
    );
    await assert.rejects(run(env), denied);
    const mount = edit((d) => {
      d.setIn(["spec", "containers", 0, "volumeMounts"], [{ name: "x", mountPath: "/x" }]);
      d.setIn(["spec", "volumes"], [{ name: "x", emptyDir: {} }]);
    });
    await assert.rejects(run(mount), denied);
    const other = await pushBusyboxImage(registry!.host, "coco/other", "v1", [
      { name: "evil", content: "x" },
    ]);
    const swapped = edit((d) => d.setIn(["spec", "containers", 0, "image"], other.pinned));
    await assert.rejects(run(swapped), denied);
  });

  test("exec is denied unless the pod owner allowed the command", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("exec-pod", "sleep 30"), {
      allowExec: [["/bin/echo", "ok"]],
      allowLogs: true,
    });
    const { r } = await run(yaml, true);
    const rec = loadPod(join(work, "state"), "exec-pod");
    assert.equal(r.record.name, "exec-pod");
    const agent = new AgentClient(rec.agentAddress);
    const cid = rec.containers[0]!.id;
    const proc = (args: string[]) => ({
      Terminal: false,
      Args: args,
      Env: ["PATH=/bin"],
      Cwd: "/",
      NoNewPrivileges: false,
      ApparmorProfile: "",
      SelinuxLabel: "",
    });
    try {
      await assert.rejects(
        agent.execProcess(cid, "e1", proc(["/bin/sh"])),
        code("ERR_POLICY_DENIED"),
      );
      await agent.execProcess(cid, "e2", proc(["/bin/echo", "ok"]));
      const chunks: Uint8Array[] = [];
      await agent.pump(cid, "e2", "stdout", (c) => chunks.push(c));
      assert.equal(Buffer.concat(chunks).toString(), "ok\n");
      assert.equal(await agent.waitProcess(cid, "e2"), 0);
      await assert.rejects(
        agent.setPolicy("package agent_policy\ndefault ExecProcessRequest := true"),
        code("ERR_POLICY_DENIED"),
      );
    } finally {
      await agent.destroySandbox().catch(() => {});
      agent.close();
      await stopProcessSandbox(rec.pid);
    }
  });

  // cgroup v2 files, or the v1 ones on a hybrid host: "mem <limit>" and "cpu <quota> <period>".
  // One printf, so the two lines reach the host as one write (two echos may arrive as two chunks).
  const SHOW_LIMITS =
    'if [ -e /sys/fs/cgroup/memory.max ]; then m=$(cat /sys/fs/cgroup/memory.max); c=$(cat /sys/fs/cgroup/cpu.max); else m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); c="$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; fi; printf "mem %s\\ncpu %s\\n" "$m" "$c"';
  const LIMITS = "    resources:\n      limits: {cpu: 500m, memory: 64Mi}\n";

  test("CPU and memory limits reach the container's cgroup through the agent and runc", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(manifest("limited", SHOW_LIMITS, LIMITS), { allowLogs: true });
    const { r, out, events } = await run(yaml);
    assert.equal(r.exitCode, 0);
    assert.equal(out, `app/stdout:mem ${64 << 20}\ncpu 50000 100000\n`);
    assert.ok(!events.some((e) => /warning/.test(e)), "no 'not applied' warning any more");
  });

  test("host-changed limits: applied by default (as genpolicy), refused when the owner pinned them", async (t) => {
    if (skip) return t.skip(skip);
    const raise = (y: string) =>
      y.replace("memory: 64Mi", "memory: 128Mi").replace("cpu: 500m", "cpu: 2");
    const open = raise(
      await generated(manifest("limits-host", SHOW_LIMITS, LIMITS), { allowLogs: true }),
    );
    const { r, out } = await run(open);
    assert.equal(r.exitCode, 0);
    assert.equal(out, `app/stdout:mem ${128 << 20}\ncpu 200000 100000\n`);
    const pinned = await generated(manifest("limits-pinned", SHOW_LIMITS, LIMITS), {
      allowLogs: true,
      pinResources: true,
    });
    await assert.rejects(
      run(raise(pinned)),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_POLICY_DENIED" &&
        /CreateContainerRequest is blocked by policy/.test(e.message ?? ""),
    );
    const dropped = pinned.replace(/ {4}resources:\n.*\n/, "");
    assert.notEqual(dropped, pinned);
    await assert.rejects(run(dropped), code("ERR_POLICY_DENIED"));
  });

  // Counts its attempts in an emptyDir (sandbox-wide, so it outlives each container).
  const attempts = (name: string, policy: string, last: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-dev
  restartPolicy: ${policy}
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(`n=$(cat /w/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /w/n; echo attempt $n; ${last}`)}]
    volumeMounts:
    - name: w
      mountPath: /w
  volumes:
  - name: w
    emptyDir: {}
`;
  const fast = { restart: { initialMs: 20, maxMs: 100 } };

  test("restartPolicy OnFailure: a container that fails twice then succeeds is restarted with backoff", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(attempts("on-failure", "OnFailure", '[ "$n" -ge 3 ]'), {
      allowLogs: true,
    });
    const { r, out, events } = await run(yaml, false, fast);
    assert.equal(r.exitCode, 0);
    assert.equal(out, "app/stdout:attempt 1\napp/stdout:attempt 2\napp/stdout:attempt 3\n");
    assert.deepEqual(
      events.filter((e) => /restart \d in/.test(e)).map((e) => e.replace(/ in .*/, "")),
      ["container app: restart 1", "container app: restart 2"],
    );
    assert.equal(r.record.containers[0]!.restarts, 2);
    assert.deepEqual(r.statuses, [{ name: "app", status: 0 }]);
  });

  test("restartPolicy OnFailure gives up after maxRestarts; Never runs once", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(attempts("give-up", "OnFailure", "exit 7"), { allowLogs: true });
    const { r, out } = await run(yaml, false, { restart: { ...fast.restart, maxRestarts: 1 } });
    assert.equal(r.exitCode, 7);
    assert.equal(out, "app/stdout:attempt 1\napp/stdout:attempt 2\n");
    const once = await generated(attempts("never", "Never", "exit 7"), { allowLogs: true });
    const n = await run(once, false, fast);
    assert.equal(n.r.exitCode, 7);
    assert.equal(n.out, "app/stdout:attempt 1\n");
  });

  test("restartPolicy Always restarts a container that exited 0, until the pod is stopped", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(attempts("always", "Always", '[ "$n" -lt 3 ] || sleep 30'), {
      allowLogs: true,
    });
    const abort = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      run(yaml, false, {
        ...fast,
        signal: abort.signal,
        onOutput: (_c, _s, chunk) => {
          seen.push(Buffer.from(chunk).toString());
          if (seen.join("").includes("attempt 3")) abort.abort();
        },
      }),
      code("ERR_POD_INTERRUPTED"),
    );
    assert.equal(seen.join(""), "attempt 1\nattempt 2\nattempt 3\n");
  });

  test("stopping a pod during the restart backoff ends the run with ERR_POD_INTERRUPTED", async (t) => {
    if (skip) return t.skip(skip);
    const yaml = await generated(attempts("backoff-stop", "OnFailure", "exit 1"));
    const abort = new AbortController();
    await assert.rejects(
      run(yaml, false, {
        restart: { initialMs: 60_000 },
        signal: abort.signal,
        onEvent: (e) => {
          if (/restart 1 in 60000 ms/.test(e)) abort.abort();
        },
      }),
      code("ERR_POD_INTERRUPTED"),
    );
  });

  test("coco run -d with OnFailure: a detached supervisor restarts the container; coco rm stops it", async (t) => {
    if (skip) return t.skip(skip);
    const cli = fileURLToPath(new URL("../../cli/main.js", import.meta.url));
    const stateDir = join(work, "cli-state");
    const env = { ...process.env, COCO_STATE_DIR: stateDir };
    const file = join(work, "detached.yaml");
    writeFileSync(
      file,
      await generated(attempts("detached", "OnFailure", '[ "$n" -ge 3 ] && sleep 60; exit 1')),
    );
    const coco = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, ...args], { env, timeout: 60_000 });
    const started = await coco("run", "-d", "--restart-backoff", "20", file);
    assert.match(started.stderr, /restartPolicy OnFailure watched by process \d+/);
    let rec = loadPod(stateDir, "detached");
    for (let i = 0; i < 200 && (rec.containers[0]?.restarts ?? 0) < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rec = loadPod(stateDir, "detached");
    }
    assert.equal(rec.containers[0]!.restarts, 2);
    assert.equal(rec.status, "running");
    const supervisor = rec.supervisorPid!;
    assert.ok(isAlive(supervisor));
    const ps = await coco("ps");
    assert.match(ps.stdout, /detached\s+running.*app\(2 restarts\)/);
    await coco("rm", "detached");
    assert.ok(!isAlive(supervisor), "the supervisor is gone");
    assert.ok(!isAlive(rec.pid), "the sandbox is gone");
  });
});
