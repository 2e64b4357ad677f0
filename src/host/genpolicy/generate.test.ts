import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { toolPath } from "../../../test/helpers/paths.js";
import {
  decodeAgentMessage,
  encodeAgentMessage,
  type Json,
  toPolicyInput,
} from "../../protocol/agent/index.js";
import { parseInitData } from "../../protocol/initdata/index.js";
import { createEngine } from "../../rego/index.js";
import type { ImageInfo } from "../runtime/image-config.js";
import { parsePod } from "../runtime/pod.js";
import { containerPlan, newId, sandboxRequest } from "../runtime/requests.js";
import { parseBundleSpec, toCreateContainerRequest } from "../shim/spec.js";
import { generatePolicy } from "./generate.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  runtimeClassName: coco-dev
  containers:
  - name: app
    image: 127.0.0.1:5000/coco/busybox:v1
    command: ["/bin/sh", "-c", "echo $SECRET"]
    env:
    - name: SECRET
      value: sealed.eyJhbGciOiJFUzI1NiJ9.e30.c2ln
    volumeMounts:
    - name: cfg
      mountPath: /etc/cfg
    - name: scratch
      mountPath: /scratch
    livenessProbe:
      exec:
        command: ["/bin/true"]
  volumes:
  - name: cfg
    configMap:
      name: cfg
  - name: scratch
    emptyDir: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  greeting: hello
`;
const image: ImageInfo = {
  pinned: `127.0.0.1:5000/coco/busybox@${DIGEST}`,
  manifestDigest: DIGEST,
  config: { Env: ["PATH=/bin"], Cmd: ["/bin/sh"] },
};

function setup(opts: Parameters<typeof generatePolicy>[3] = {}, text = manifest) {
  const pod = parsePod(text);
  const images = new Map([[pod.containers[0]!.image, image]]);
  const gen = generatePolicy(text, pod, images, opts);
  const engine = createEngine();
  engine.addPolicy("policy.rego", gen.policy);
  let data: Record<string, unknown> = { pstate: {} };
  engine.addData(data);
  const ask = (name: string, msg: object): unknown => {
    engine.setInput(
      toPolicyInput(name, decodeAgentMessage(name, encodeAgentMessage(name, msg))) as Json,
    );
    const rows = engine.evalQuery(`data.agent_policy.${name}`).result ?? [];
    const v = rows[0]?.expressions[0]?.value;
    if (v && typeof v === "object" && (v as { allowed?: boolean }).allowed) {
      for (const op of (v as { ops: { op: string; path: string; value?: unknown }[] }).ops) {
        const key = op.path.split("/")[2]!;
        const ps = { ...(data.pstate as Record<string, unknown>) };
        if (op.op === "add") ps[key] = op.value;
        else delete ps[key];
        data = { pstate: ps };
      }
      engine.clearData();
      engine.addData(data);
      return true;
    }
    return v === true;
  };
  // The request the runtime sends for the (pinned) pod.
  const pinnedPod = parsePod(gen.yaml);
  const sandboxId = newId();
  const plan = () =>
    containerPlan(pinnedPod, pinnedPod.containers[0]!, image, { cid: newId(), sandboxId });
  return { gen, ask, plan, pinnedPod, sandboxId };
}

describe("generated agent policy", () => {
  test("pins the image by digest in the rewritten manifest and carries the policy in init-data", () => {
    const { gen, pinnedPod } = setup();
    assert.equal(pinnedPod.containers[0]!.image, image.pinned);
    const id = parseInitData(gen.initData);
    assert.equal(id.data["policy.rego"], gen.policy);
    assert.match(gen.yaml, /io\.katacontainers\.config\.hypervisor\.cc_init_data/);
  });

  test("allows exactly the runtime's requests for the pod", () => {
    const { ask, plan, pinnedPod, sandboxId } = setup();
    assert.equal(ask("CreateSandboxRequest", sandboxRequest(pinnedPod, sandboxId)), true);
    const p = plan();
    for (const f of p.files) {
      assert.equal(
        ask("CopyFileRequest", {
          path: f.path,
          fileMode: f.mode,
          fileSize: BigInt(f.data.length),
          data: f.data,
        }),
        true,
      );
    }
    assert.equal(ask("CreateContainerRequest", p.request), true);
    assert.equal(ask("StartContainerRequest", { containerId: p.request.containerId }), true);
  });

  test("refuses a host-changed command, env, mount, image or storage", () => {
    const { ask, plan } = setup();
    const cases: [string, (r: ReturnType<typeof plan>["request"]) => void][] = [
      [
        "command",
        (r) => {
          r.OCI!.Process!.Args = ["/bin/sh", "-c", "cat /etc/shadow"];
        },
      ],
      [
        "env",
        (r) => {
          r.OCI!.Process!.Env.push("LD_PRELOAD=/tmp/x.so");
        },
      ],
      [
        "sealed value swapped",
        (r) => {
          r.OCI!.Process!.Env = r.OCI!.Process!.Env.map((e) =>
            e.startsWith("SECRET=") ? "SECRET=sealed.other" : e,
          );
        },
      ],
      [
        "mount",
        (r) => {
          r.OCI!.Mounts.push({
            destination: "/host",
            source: "/",
            type: "bind",
            options: ["rbind"],
          });
        },
      ],
      [
        "image",
        (r) => {
          r.storages[0]!.source = `127.0.0.1:5000/evil@sha256:${"cd".repeat(32)}`;
        },
      ],
      [
        "storage",
        (r) => {
          r.storages.push({
            driver: "virtio-fs",
            driverOptions: [],
            source: "kataShared",
            fstype: "virtiofs",
            options: [],
            mountPoint: "/run/kata-containers/shared",
            shared: false,
          });
        },
      ],
      [
        "root path",
        (r) => {
          r.OCI!.Root!.Path = "/run/kata-containers/other/rootfs";
        },
      ],
      [
        "capabilities",
        (r) => {
          r.OCI!.Process!.Capabilities!.Bounding = [
            ...r.OCI!.Process!.Capabilities!.Bounding,
            "CAP_SYS_ADMIN",
          ];
        },
      ],
      [
        "hooks",
        (r) => {
          (r.OCI as { Hooks?: unknown }).Hooks = {
            Prestart: [{ Path: "/bin/evil", Args: [], Env: [], Timeout: 0n }],
          };
        },
      ],
    ];
    for (const [what, change] of cases) {
      const p = plan();
      change(p.request);
      assert.equal(ask("CreateContainerRequest", p.request), false, what);
    }
  });

  test("admits the Service env kubelet adds, by shape only, never over the owner's own env", () => {
    // What kubelet adds for the `kubernetes` Service (its envvars.FromServices), as seen in a
    // real kubelet's container spec.
    const kubelet = [
      "KUBERNETES_SERVICE_PORT_HTTPS=443",
      "KUBERNETES_PORT=tcp://10.0.0.1:443",
      "KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443",
      "KUBERNETES_PORT_443_TCP_PROTO=tcp",
      "KUBERNETES_PORT_443_TCP_PORT=443",
      "KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1",
      "KUBERNETES_SERVICE_HOST=10.0.0.1",
      "KUBERNETES_SERVICE_PORT=443",
      "MY_DB_PORT_5432_UDP=udp://10.96.3.4:5432",
    ];
    const withEnv = (extra: string[], o: Parameters<typeof generatePolicy>[3] = {}) => {
      const s = setup(o);
      const p = s.plan();
      p.request.OCI!.Process!.Env.push(...extra);
      return s.ask("CreateContainerRequest", p.request);
    };
    assert.equal(withEnv(kubelet), true);
    assert.equal(withEnv(kubelet, { serviceEnv: false }), false, "the owner turned it off");
    for (const bad of [
      "LD_PRELOAD=/tmp/x.so",
      "KUBERNETES_SERVICE_HOST=10.0.0.1;rm -rf /",
      "KUBERNETES_SERVICE_HOST=evil.example",
      "KUBERNETES_PORT=tcp://10.0.0.1:443\nLD_PRELOAD=/x",
      "kubernetes_SERVICE_HOST=10.0.0.1",
      "_SERVICE_HOST=10.0.0.1",
      "KUBERNETES_PORT_443_TCP_PROTO=http",
      "KUBERNETES_PORT_443_TCP_ADDR=10.0.0.256",
    ])
      assert.equal(withEnv([bad]), false, bad);
    const owned = `${manifest.replace(
      "    - name: SECRET\n",
      "    - name: DB_SERVICE_HOST\n      value: 10.1.1.1\n    - name: SECRET\n",
    )}`;
    const s = setup({}, owned);
    const p = s.plan();
    p.request.OCI!.Process!.Env = p.request.OCI!.Process!.Env.map((e) =>
      e.startsWith("DB_SERVICE_HOST=") ? "DB_SERVICE_HOST=10.6.6.6" : e,
    );
    assert.equal(s.ask("CreateContainerRequest", p.request), false, "owner's value overridden");
  });

  test("an allowed exec may carry the container's own process spec (as CRI sends it), no more", () => {
    const s = setup({ allowExec: [["/bin/id"]] });
    const p = s.plan();
    p.request.OCI!.Process!.Env.push("KUBERNETES_SERVICE_HOST=10.0.0.1");
    assert.equal(s.ask("CreateContainerRequest", p.request), true);
    const proc = p.request.OCI!.Process!;
    const exec = (process: object, id: string) =>
      s.ask("ExecProcessRequest", {
        containerId: p.request.containerId,
        execId: id,
        process: { ...proc, Args: ["/bin/id"], ...process },
      });
    assert.equal(exec({}, "e1"), true, "the container's user, env and capabilities");
    const caps = proc.Capabilities!;
    assert.equal(
      exec({ Capabilities: { ...caps, Bounding: caps.Bounding.slice(1) } }, "e2"),
      true,
      "fewer capabilities",
    );
    assert.equal(
      exec({ Capabilities: { ...caps, Effective: [...caps.Effective, "CAP_SYS_ADMIN"] } }, "e3"),
      false,
      "a capability the container does not have",
    );
    assert.equal(
      exec({ Capabilities: { ...caps, Ambient: ["CAP_CHOWN"] } }, "e4"),
      false,
      "an ambient capability the container does not have",
    );
    assert.equal(exec({ Env: [...proc.Env, "LD_PRELOAD=/x.so"] }, "e5"), false);
  });

  test("lets each policy container be created once", () => {
    const { ask, plan } = setup();
    assert.equal(ask("CreateContainerRequest", plan().request), true);
    assert.equal(ask("CreateContainerRequest", plan().request), false);
  });

  test("denies exec and log reads unless the pod owner allowed them", () => {
    const { ask, plan } = setup();
    const p = plan();
    assert.equal(ask("CreateContainerRequest", p.request), true);
    const exec = (args: string[]) =>
      ask("ExecProcessRequest", {
        containerId: p.request.containerId,
        execId: "e1",
        process: { Args: args, Cwd: "/" },
      });
    assert.equal(exec(["/bin/sh"]), false);
    assert.equal(exec(["/bin/true"]), true, "the liveness probe command is allowed");
    const execWith = (process: object) =>
      ask("ExecProcessRequest", {
        containerId: p.request.containerId,
        execId: "e2",
        process: { Args: ["/bin/true"], ...process },
      });
    assert.equal(
      execWith({ Env: ["LD_PRELOAD=/tmp/x.so"] }),
      false,
      "an env entry not in the policy",
    );
    assert.equal(execWith({ Env: ["PATH=/bin"] }), true, "an env entry of the container");
    assert.equal(execWith({ User: { UID: 1000, GID: 1000 } }), false, "another user");
    assert.equal(
      execWith({ Capabilities: { Bounding: ["CAP_SYS_ADMIN"] } }),
      false,
      "capabilities",
    );
    assert.equal(ask("ReadStreamRequest", { containerId: p.request.containerId }), false);
    const open = setup({ allowLogs: true, allowExec: [["/bin/id"]] });
    const q = open.plan();
    assert.equal(open.ask("CreateContainerRequest", q.request), true);
    assert.equal(open.ask("ReadStreamRequest", { containerId: q.request.containerId }), true);
    assert.equal(
      open.ask("ExecProcessRequest", {
        containerId: q.request.containerId,
        execId: "e",
        process: { Args: ["/bin/id"] },
      }),
      true,
    );
  });

  test("always denies SetPolicy, swap, clock, RNG and iptables requests", () => {
    const { ask } = setup();
    for (const name of [
      "SetPolicyRequest",
      "AddSwapRequest",
      "SetGuestDateTimeRequest",
      "ReseedRandomDevRequest",
      "SetIPTablesRequest",
      "UpdateContainerRequest",
    ]) {
      assert.equal(ask(name, {}), false, name);
    }
  });

  test("confines CopyFile to the shared folder", () => {
    const { ask } = setup();
    const copy = (path: string, mode = 0o100644, data = "x") =>
      ask("CopyFileRequest", {
        path,
        fileMode: mode,
        fileSize: BigInt(data.length),
        data: new TextEncoder().encode(data),
      });
    assert.equal(copy("/etc/passwd"), false);
    assert.equal(copy("/run/kata-containers/shared/containers/../../../etc/passwd"), false);
    assert.equal(copy("/run/kata-containers/shared/containers/a/l", 0o120777, "../../x"), false);
    assert.equal(copy("/run/kata-containers/shared/containers/a/l", 0o120777, "/etc"), false);
    assert.equal(copy("/run/kata-containers/shared/containers/a/l", 0o120777, "b"), true);
  });

  test("refuses a CreateSandbox with hooks, modules or other storages", () => {
    const { ask, pinnedPod, sandboxId } = setup();
    const base = sandboxRequest(pinnedPod, sandboxId);
    assert.equal(ask("CreateSandboxRequest", { ...base, guestHookPath: "/hooks" }), false);
    assert.equal(
      ask("CreateSandboxRequest", { ...base, kernelModules: [{ name: "evil", parameters: [] }] }),
      false,
    );
    assert.equal(
      ask("CreateSandboxRequest", {
        ...base,
        storages: [{ ...base.storages[0]!, options: ["exec"] }],
      }),
      false,
    );
  });

  test("CPU/memory limits: the host may change them (as genpolicy) unless the owner pinned them", () => {
    const limited = manifest.replace(
      "    livenessProbe:",
      "    resources:\n      limits: {cpu: 500m, memory: 64Mi}\n      requests: {cpu: 250m}\n    livenessProbe:",
    );
    for (const pin of [false, true]) {
      const { ask, plan } = setup({ pinResources: pin }, limited);
      const honest = plan();
      const r = honest.request.OCI!.Linux!.Resources!;
      assert.equal(r.Memory!.Limit, 64n << 20n);
      assert.equal(r.CPU!.Quota, 50_000n);
      assert.equal(r.CPU!.Period, 100_000n);
      assert.equal(r.CPU!.Shares, 256n);
      assert.equal(ask("CreateContainerRequest", honest.request), true, `honest, pin=${pin}`);
      const changed = setup({ pinResources: pin }, limited);
      const p = changed.plan();
      p.request.OCI!.Linux!.Resources!.Memory!.Limit = 1n << 30n;
      p.request.OCI!.Linux!.Resources!.CPU!.Quota = 400_000n;
      assert.equal(changed.ask("CreateContainerRequest", p.request), !pin, `raised, pin=${pin}`);
      const dropped = setup({ pinResources: pin }, limited);
      const d = dropped.plan();
      delete d.request.OCI!.Linux!.Resources;
      assert.equal(dropped.ask("CreateContainerRequest", d.request), !pin, `dropped, pin=${pin}`);
      // Whatever the pin says: no device cgroup rules, no Pids/BlockIO/Network (upstream's filter).
      for (const [what, extra] of [
        ["devices", { Devices: [{ Allow: true, Type: "c", Major: 1n, Minor: 1n, Access: "rwm" }] }],
        ["pids", { Pids: { Limit: 10n } }],
        ["blockio", { BlockIO: { Weight: 10 } }],
      ] as const) {
        const t = setup({ pinResources: pin }, limited);
        const q = t.plan();
        Object.assign(q.request.OCI!.Linux!.Resources!, extra);
        assert.equal(t.ask("CreateContainerRequest", q.request), false, `${what}, pin=${pin}`);
      }
    }
  });
});

test("the generated policy passes `opa check` (real OPA accepts every rule we emit)", {
  skip: existsSync(toolPath("opa")) ? false : "opa is not installed: run scripts/setup",
}, () => {
  const { gen } = setup({ allowExec: [["/bin/sh"]], allowLogs: true });
  const dir = mkdtempSync(join(tmpdir(), "coco-genpolicy-opa-"));
  try {
    writeFileSync(join(dir, "policy.rego"), gen.policy);
    const r = spawnSync(toolPath("opa"), ["check", join(dir, "policy.rego")], { encoding: "utf8" });
    assert.equal(r.status, 0, `opa check refused the generated policy:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("generated policy for `ctr run` (--ctr)", () => {
  const ctrManifest = `apiVersion: v1
kind: Pod
metadata:
  name: solo
spec:
  containers:
  - name: app
    image: 127.0.0.1:5000/coco/busybox:v1
    command: ["/bin/sh", "-c", "echo hi"]
    env:
    - name: GREETING
      value: hello
`;
  /** The config.json containerd v2.4.2's `ctr run --env GREETING=hello IMAGE ID /bin/sh -c 'echo hi'` wrote (recorded; fields the shim does not read trimmed). */
  const recorded = () => ({
    ociVersion: "1.3.0",
    process: {
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: ["/bin/sh", "-c", "echo hi"],
      env: ["PATH=/bin", "GREETING=hello"],
      cwd: "/",
      capabilities: Object.fromEntries(
        ["bounding", "effective", "permitted"].map((k) => [
          k,
          [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
          ],
        ]),
      ),
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    mounts: [
      {
        destination: "/proc",
        type: "proc",
        source: "proc",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
      {
        destination: "/run",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    annotations: { "io.katacontainers.config.hypervisor.cc_init_data": "H4sI..." },
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }], cpu: { shares: 1024 } },
      cgroupsPath: "/default/solo",
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network" },
      ],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  });
  const shimRequest = (spec: object, img = image.pinned) =>
    toCreateContainerRequest(parseBundleSpec(JSON.stringify(spec)), {
      containerId: newId(),
      sandboxId: "solo",
      standaloneImage: img,
    });

  test("admits the request the shim makes from ctr's bundle, once", () => {
    const { ask } = setup({ ctr: true }, ctrManifest);
    assert.equal(ask("CreateSandboxRequest", sandboxRequest(parsePod(ctrManifest), "solo")), true);
    assert.equal(ask("CreateContainerRequest", shimRequest(recorded())), true);
    assert.equal(ask("CreateContainerRequest", shimRequest(recorded())), false, "a second one");
  });

  test("refuses another command, env, image, a CRI-shaped request, and CRI annotations", () => {
    const cases: [string, () => object][] = [
      [
        "command",
        () => {
          const s = recorded();
          s.process.args = ["/bin/sh", "-c", "cat /etc/shadow"];
          return shimRequest(s);
        },
      ],
      [
        "env",
        () => {
          const s = recorded();
          s.process.env.push("LD_PRELOAD=/tmp/evil.so");
          return shimRequest(s);
        },
      ],
      ["image", () => shimRequest(recorded(), `127.0.0.1:5000/evil@${DIGEST}`)],
      [
        "CRI annotations",
        () => {
          const r = shimRequest(recorded());
          r.OCI!.Annotations = {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.sandbox-name": "solo",
          };
          return r;
        },
      ],
      [
        "CRI-shaped request",
        () => {
          const pod = parsePod(ctrManifest);
          const c = { ...pod.containers[0]!, image: image.pinned };
          return containerPlan(pod, c, image, { cid: newId(), sandboxId: newId() }).request;
        },
      ],
    ];
    for (const [what, make] of cases) {
      const { ask } = setup({ ctr: true }, ctrManifest);
      assert.equal(ask("CreateContainerRequest", make()), false, what);
    }
  });

  test("a pod's (CRI) policy refuses ctr's request", () => {
    const { ask } = setup({}, ctrManifest);
    assert.equal(ask("CreateContainerRequest", shimRequest(recorded())), false);
  });

  test("a manifest ctr cannot run is refused with a coded error", () => {
    const two = ctrManifest.replace(
      "  - name: app\n",
      "  - name: other\n    image: 127.0.0.1:5000/coco/busybox:v1\n  - name: app\n",
    );
    assert.throws(() => setup({ ctr: true }, two), { code: "ERR_POLICY_GENERATE" });
    assert.throws(() => setup({ ctr: true }, manifest), {
      code: "ERR_POLICY_GENERATE",
      message: /volumes/,
    });
  });
});
