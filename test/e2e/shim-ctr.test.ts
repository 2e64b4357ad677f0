/**
 * containerd-shim-coco-v2 under `ctr run --runtime io.containerd.coco.v2`: a container with no
 * CRI pod around it. The real containerd 2.x and ctr (Go module proxy), the CNCF registry and the
 * coco snapshotter; the container's policy is what `coco policy generate --ctr` writes, carried
 * in the init-data annotation ctr passes with `--annotation`, and the guest enforces it as for a
 * pod: the owner's command runs and its output and exit code reach ctr; another command, a
 * host-added env var, an exec or a missing init-data are refused; nothing is left afterwards.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify as toToml } from "smol-toml";
import { nodePlatform, transferUnpackConfig } from "../../src/host/install/containerd-config.js";
import { podStateDir } from "../../src/host/shim/paths.js";
import {
  type CocoCri,
  cocoCriSkip,
  INITDATA,
  mountsUnder,
  pidsMentioning,
  startCocoCri,
} from "../helpers/coco-cri.js";
import { type CommandResult, runCommand } from "../helpers/command.js";
import { CONTAINERD_BINS } from "../helpers/containerd.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const RUNTIME = "io.containerd.coco.v2";
const NS = "default";
const skip = cocoCriSkip();
let c: CocoCri | undefined;

function ctr(args: string[], timeoutMs = 240_000): Promise<CommandResult> {
  return runCommand(CONTAINERD_BINS.ctr, ["--address", c!.h.address, "-n", NS, ...args], {
    timeoutMs,
  });
}

/** `coco policy generate --ctr` for a one-container manifest: the pinned image and annotation. */
function generate(
  name: string,
  command: string[],
  more: string[] = [],
): { image: string; annotation: string } {
  const yaml = join(c!.work, `${name}.yaml`);
  writeFileSync(
    yaml,
    `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: app
    image: ${c!.image}
    command: ${JSON.stringify(command)}
`,
  );
  const gen = (extra: string[]) => {
    const r = spawnSync(
      process.execPath,
      [CLI, "policy", "generate", "--ctr", ...more, ...extra, yaml],
      {
        encoding: "utf8",
        env: process.env,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const annotation = gen(["--print-annotation"]).trim();
  assert.ok(annotation.startsWith(`${INITDATA}=`), annotation);
  const image = /image: (\S+@sha256:[0-9a-f]{64})/.exec(gen([]))?.[1];
  assert.ok(image, "the rewritten manifest pins the image");
  return { image, annotation };
}

/** Nothing of container `id` is left: no shim, sandbox process, state folder or mount. */
async function assertGone(id: string): Promise<void> {
  const dir = podStateDir(c!.shimState, NS, id);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const left = {
      shims: c!.h.shimPids().filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes(id)),
      processes: pidsMentioning(dir),
      folder: existsSync(dir),
      mounts: mountsUnder(dir),
    };
    if (left.shims.length + left.processes.length + left.mounts.length === 0 && !left.folder)
      return;
    if (Date.now() > deadline)
      assert.fail(
        `container ${id} left ${JSON.stringify(left)}: ${left.shims.map((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ")).join("; ")}\n${c!.h.output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  if (!skip)
    c = await startCocoCri({
      snapshotter: true,
      // What `coco install containerd` adds so that `ctr images pull --snapshotter coco` unpacks.
      imports: (work) => {
        const f = join(work, "transfer.toml");
        writeFileSync(
          f,
          toToml({
            version: 3,
            plugins: { "io.containerd.transfer.v1.local": transferUnpackConfig(nodePlatform()) },
          }),
        );
        return [f];
      },
    });
});

after(async () => {
  await c?.stop();
});

describe("ctr run --runtime io.containerd.coco.v2 (a container without a CRI pod)", {
  timeout: 1_200_000,
}, () => {
  let image = "";
  let annotation = "";
  const script = ["/bin/sh", "-c", "echo hello from ctr; echo to stderr >&2; exit 3"];

  test("the owner's command runs in the sandbox; its output and exit code reach ctr", async (t) => {
    if (skip) return t.skip(skip);
    ({ image, annotation } = generate("ctr-hello", script, ["--allow-logs"]));
    // The coco snapshotter answers every layer as present: containerd unpacks nothing on the node.
    const pull = await ctr(["images", "pull", "--plain-http", "--snapshotter", "coco", image]);
    assert.equal(pull.status, 0, pull.stderr);
    // Only the manifest and config reached containerd's content store: no layer blob.
    const manifestDigest = image.slice(image.indexOf("@") + 1);
    const manifest = JSON.parse((await ctr(["content", "get", manifestDigest])).stdout) as {
      layers: { digest: string }[];
    };
    const content = (await ctr(["content", "ls", "-q"])).stdout;
    assert.ok(manifest.layers.length > 0);
    for (const l of manifest.layers)
      assert.doesNotMatch(content, new RegExp(l.digest), "layer blob");
    const r = await ctr([
      "run",
      "--rm",
      "--runtime",
      RUNTIME,
      "--snapshotter",
      "coco",
      "--annotation",
      annotation,
      image,
      "ctr-hello",
      ...script,
    ]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /hello from ctr/);
    assert.match(r.stderr, /to stderr/);
    assert.equal((await ctr(["containers", "ls", "-q"])).stdout.trim(), "");
    await assertGone("ctr-hello");
  });

  test("another command, a host-added env var or no init-data is refused", async (t) => {
    if (skip) return t.skip(skip);
    assert.ok(image, "the first test pulled the image");
    const cases: [string, string[], RegExp][] = [
      [
        "command",
        ["--annotation", annotation, image, "ctr-cmd", "/bin/sh", "-c", "cat /etc/passwd"],
        /CreateContainerRequest is blocked by policy/,
      ],
      [
        "env",
        [
          "--annotation",
          annotation,
          "--env",
          "LD_PRELOAD=/tmp/evil.so",
          image,
          "ctr-env",
          ...script,
        ],
        /CreateContainerRequest is blocked by policy/,
      ],
      ["no init-data", [image, "ctr-noinit", ...script], /cc_init_data/],
    ];
    for (const [what, args, expect] of cases) {
      const id = args[args.indexOf(image) + 1]!;
      const r = await ctr(["run", "--rm", "--runtime", RUNTIME, "--snapshotter", "coco", ...args]);
      assert.notEqual(r.status, 0, what);
      assert.match(r.stderr, expect, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /hello from ctr/, what);
      await ctr(["containers", "rm", id]);
      await assertGone(id);
    }
  });

  test("exec is refused unless the policy allows it; kill and delete leave nothing", async (t) => {
    if (skip) return t.skip(skip);
    const sleeper = ["/bin/sh", "-c", "echo up; sleep 300"];
    const g = generate("ctr-sleep", sleeper, ["--allow-logs"]);
    const r = await ctr([
      "run",
      "-d",
      "--runtime",
      RUNTIME,
      "--snapshotter",
      "coco",
      "--annotation",
      g.annotation,
      g.image,
      "ctr-sleep",
      ...sleeper,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const ex = await ctr([
      "task",
      "exec",
      "--exec-id",
      "x1",
      "ctr-sleep",
      "/bin/cat",
      "/etc/passwd",
    ]);
    assert.notEqual(ex.status, 0);
    assert.match(ex.stderr, /ExecProcessRequest is blocked by policy/);
    const ps = await ctr(["task", "ls"]);
    assert.match(ps.stdout, /ctr-sleep\s+\d+\s+RUNNING/);
    assert.equal((await ctr(["task", "kill", "-s", "SIGKILL", "ctr-sleep"])).status, 0);
    const deadline = Date.now() + 30_000;
    while (!/STOPPED/.test((await ctr(["task", "ls"])).stdout)) {
      if (Date.now() > deadline) assert.fail("the task never stopped");
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal((await ctr(["task", "rm", "ctr-sleep"])).status, 0);
    assert.equal((await ctr(["containers", "rm", "ctr-sleep"])).status, 0);
    await assertGone("ctr-sleep");
  });
});
