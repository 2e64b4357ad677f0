/**
 * A real one-node Kubernetes cluster for tests, the demo and benches: etcd (Debian), and
 * kube-apiserver, kube-controller-manager, kubelet and kubectl built from k8s.io/kubernetes by
 * scripts/setup (.tools/bin). Everything listens on 127.0.0.1 with certificates made for this
 * cluster, lives in one private folder, and stops by PID. The kubelet talks to a containerd from
 * the containerd harness (the caller starts it, e.g. with `coco install containerd`'s drop-in).
 *
 * No scheduler: tests set `nodeName` (pods, and Deployment templates, which the controller
 * manager's ReplicaSet controller copies into each replica).
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type CommandResult, runCommand } from "./command.js";
import type { ContainerdHarness } from "./containerd.js";
import { makeClusterPki } from "./kube-pki.js";
import { toolPath } from "./paths.js";
import { freePort } from "./ports.js";
import { ProcessError, type RunningProcess, startProcess } from "./process.js";

/** The binaries the cluster needs; a missing one is a stated skip reason. */
export const KUBE_BINS = {
  etcd: "/usr/bin/etcd",
  "kube-apiserver": toolPath("kube-apiserver"),
  "kube-controller-manager": toolPath("kube-controller-manager"),
  kubelet: toolPath("kubelet"),
  kubectl: toolPath("kubectl"),
};

/** A skip reason when a cluster binary is missing or we are not root. */
export function kubeSkip(): string | false {
  if (process.getuid?.() !== 0) return "the cluster tests need root (kubelet)";
  for (const [name, path] of Object.entries(KUBE_BINS)) {
    if (!existsSync(path)) return `${name} is not installed at ${path}; run scripts/setup`;
  }
  return false;
}

/**
 * The node's name in the test cluster. kubelet refuses a loopback node IP, so the API server
 * reaches the kubelet (logs, exec) by the node's Hostname address, which is this name:
 * `localhost`, on 127.0.0.1, where the kubelet listens.
 */
export const NODE_NAME = "localhost";

/** A running one-node cluster. */
export interface KubeCluster {
  dir: string;
  nodeName: string;
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  processes: RunningProcess[];
  /** Runs kubectl with the admin kubeconfig. */
  kubectl(
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<CommandResult>;
  /** Runs kubectl; a non-zero exit throws with its stderr. */
  kubectlOk(
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<string>;
  /** The last output of each component. */
  output(): Record<string, string>;
  /** Milliseconds from the start of {@link startCluster} to each milestone (start-up profile). */
  timings: Record<string, number>;
  /**
   * Throws ERR_PROCESS_EXITED naming the first component that has exited, with the tail of its
   * log; kubectl()/kubectlOk() call it, so a test sees a dead component instead of a timeout.
   */
  check(): void;
  stop(): Promise<void>;
}

/** Options for {@link startCluster}. */
export interface ClusterOptions {
  /** The containerd the kubelet uses. */
  containerd: ContainerdHarness;
  /** Start the controller manager (Deployments, ReplicaSets, the default ServiceAccount). Default true. */
  controllerManager?: boolean;
  /** Readiness limit per component in milliseconds (default 180 s: the machine may be loaded). */
  timeoutMs?: number;
}

/**
 * An address of this machine that is not loopback: kube-apiserver refuses to advertise a loopback
 * one. It is only written into the API's own records (nothing here connects to it: everything
 * binds and talks on 127.0.0.1). Falls back to a TEST-NET-1 address (RFC 5737) when there is none.
 */
function advertiseAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "192.0.2.1";
}

function kubeconfigYaml(
  server: string,
  caFile: string,
  certFile: string,
  keyFile: string,
  user: string,
): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: coco
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: ${user}
  user:
    client-certificate: ${certFile}
    client-key: ${keyFile}
contexts:
- name: coco
  context:
    cluster: coco
    user: ${user}
current-context: coco
`;
}

/** Starts etcd, kube-apiserver, (controller manager) and kubelet, and waits for the node to be Ready. */
export async function startCluster(opts: ClusterOptions): Promise<KubeCluster> {
  const skip = kubeSkip();
  if (skip !== false) throw new ProcessError("ERR_PROCESS_START", skip);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const dir = mkdtempSync(join(tmpdir(), "coco-kube-"));
  const cgroupRoot = `/${dir.split("/").pop()}`;
  const processes: RunningProcess[] = [];
  const w = (name: string, text: string, mode = 0o644) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode });
    return p;
  };
  const advertise = advertiseAddress();
  let stopped = false;
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string) => {
    timings[what] = Date.now() - t0;
  };
  const check = () => {
    if (stopped) return;
    for (const p of processes) {
      const st = p.exitStatus();
      if (st === undefined) continue;
      const how = st.error ?? (st.signal ? `signal ${st.signal}` : `exit code ${st.code}`);
      throw new ProcessError(
        "ERR_PROCESS_EXITED",
        `cluster component ${p.name} (pid ${p.pid}) exited with ${how}; its last output:\n${p
          .output()
          .split("\n")
          .slice(-40)
          .join("\n")}`,
      );
    }
  };
  const cluster: Partial<KubeCluster> = { dir, nodeName: NODE_NAME, processes, timings, check };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The kubelet first (it would restart what containerd stops), then the control plane.
    for (const p of [...processes].reverse()) await p.stop();
    // kubelet links container logs into the fixed /var/log/containers; drop the links into our folder.
    const linkDir = "/var/log/containers";
    if (existsSync(linkDir)) {
      for (const l of readdirSync(linkDir)) {
        try {
          if (readlinkSync(join(linkDir, l)).startsWith(dir))
            rmSync(join(linkDir, l), { force: true });
        } catch {
          // not a link
        }
      }
    }
    removeCgroupTree(cgroupRoot);
    // kubelet mounts pod volumes (and its own tmpfs) under its root folder.
    for (const mp of mountsUnder(dir)) spawnSync("umount", ["-l", mp], { stdio: "ignore" });
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a mount still busy: leave the folder rather than hide the real error
    }
  };
  cluster.stop = stop;
  try {
    const pki = await makeClusterPki(NODE_NAME, ["127.0.0.1", "10.0.0.1", advertise]);
    const ca = w("ca.crt", pki.caPem);
    const files = (name: string, pair: { certPem: string; keyPem: string }) => ({
      cert: w(`${name}.crt`, pair.certPem),
      key: w(`${name}.key`, pair.keyPem, 0o600),
    });
    const apiserver = files("apiserver", pki.apiserver);
    const admin = files("admin", pki.admin);
    const kubeletClient = files("kubelet-client", pki.kubelet);
    const kubeletServing = files("kubelet-serving", pki.kubeletServing);
    const apiKubelet = files("apiserver-kubelet-client", pki.apiserverKubeletClient);
    const cm = files("controller-manager", pki.controllerManager);
    const saKey = w("sa.key", pki.serviceAccount.privatePem, 0o600);
    const saPub = w("sa.pub", pki.serviceAccount.publicPem);

    // etcd
    const etcdPort = await freePort();
    const etcdPeer = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    processes.push(
      await startProcess({
        name: "etcd",
        command: KUBE_BINS.etcd,
        args: [
          "--name=coco",
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=coco=http://127.0.0.1:${etcdPeer}`,
          "--log-level=warn",
        ],
        ready: { kind: "http", url: `${etcdUrl}/health` },
        timeoutMs,
      }),
    );
    mark("etcd");

    // kube-apiserver
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    cluster.server = server;
    processes.push(
      await startProcess({
        name: "kube-apiserver",
        command: KUBE_BINS["kube-apiserver"],
        args: [
          `--etcd-servers=${etcdUrl}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${apiPort}`,
          `--advertise-address=${advertise}`,
          // No Endpoints for the `kubernetes` Service: nothing in this cluster calls the API
          // through it, and the advertised address is never dialled.
          "--endpoint-reconciler-type=none",
          "--service-cluster-ip-range=10.0.0.0/24",
          `--client-ca-file=${ca}`,
          `--tls-cert-file=${apiserver.cert}`,
          `--tls-private-key-file=${apiserver.key}`,
          `--kubelet-client-certificate=${apiKubelet.cert}`,
          `--kubelet-client-key=${apiKubelet.key}`,
          `--kubelet-certificate-authority=${ca}`,
          "--kubelet-preferred-address-types=Hostname",
          "--service-account-issuer=https://kubernetes.default.svc",
          `--service-account-key-file=${saPub}`,
          `--service-account-signing-key-file=${saKey}`,
          "--authorization-mode=Node,RBAC",
          "--enable-admission-plugins=NodeRestriction",
          "--allow-privileged=false",
          `--cert-dir=${join(dir, "apiserver-certs")}`,
          "--v=1",
        ],
        // Any answer means it listens (a 500 while post-start hooks run, a 403 before RBAC).
        ready: { kind: "http", url: `${server}/readyz`, ca: pki.caPem },
        timeoutMs,
      }),
    );
    mark("kube-apiserver answers");
    const kubeconfig = w(
      "admin.kubeconfig",
      kubeconfigYaml(server, ca, admin.cert, admin.key, "admin"),
    );
    cluster.kubeconfig = kubeconfig;
    const kubectl = async (
      args: readonly string[],
      o: { input?: string; timeoutMs?: number } = {},
    ) => {
      check();
      const r = await runCommand(KUBE_BINS.kubectl, ["--kubeconfig", kubeconfig, ...args], o);
      if (r.status !== 0) check();
      return r;
    };
    cluster.kubectl = kubectl;
    cluster.kubectlOk = async (args, o) => {
      const r = await kubectl(args, o);
      if (r.status !== 0)
        throw new Error(
          `kubectl ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`,
        );
      return r.stdout;
    };
    // The port answers long before the server is ready: its post-start hooks still create RBAC's
    // bootstrap roles and bindings and kube-system's extension-apiserver-authentication
    // ConfigMap. A controller manager started before then exits at once ("configmaps
    // extension-apiserver-authentication is forbidden"), which is how one run lost it. /readyz
    // answers "ok" (HTTP 200) only when every hook is done; the admin (system:masters) may read it
    // before RBAC is in.
    await waitFor(
      async () => {
        const r = await kubectl(["get", "--raw", "/readyz"]);
        return r.status === 0 && r.stdout.trim() === "ok";
      },
      timeoutMs,
      "the API server's /readyz",
      check,
    );
    mark("kube-apiserver ready");

    if (opts.controllerManager !== false) {
      const cmConfig = w(
        "controller-manager.kubeconfig",
        kubeconfigYaml(server, ca, cm.cert, cm.key, "controller-manager"),
      );
      processes.push(
        await startProcess({
          name: "kube-controller-manager",
          command: KUBE_BINS["kube-controller-manager"],
          args: [
            `--kubeconfig=${cmConfig}`,
            `--authentication-kubeconfig=${cmConfig}`,
            `--authorization-kubeconfig=${cmConfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${await freePort()}`,
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            `--service-account-private-key-file=${saKey}`,
            `--root-ca-file=${ca}`,
            // Only what the tests use: Deployments and ReplicaSets, the default ServiceAccount and
            // its token, and pod garbage collection.
            "--controllers=deployment-controller,replicaset-controller,serviceaccount-controller,serviceaccount-token-controller,pod-garbage-collector-controller,garbage-collector-controller",
            `--cert-dir=${join(dir, "controller-manager-certs")}`,
            "--v=1",
          ],
          ready: { kind: "none" },
          timeoutMs,
        }),
      );
    }

    // kubelet
    const kubeletPort = await freePort();
    for (const c of cgroupHierarchies()) mkdirSync(join(c, cgroupRoot), { recursive: true });
    const kubeletConfig = w(
      "kubelet-config.yaml",
      `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ${ca}}
authorization: {mode: AlwaysAllow}
tlsCertFile: ${kubeletServing.cert}
tlsPrivateKeyFile: ${kubeletServing.key}
containerRuntimeEndpoint: ${opts.containerd.endpoint}
imageServiceEndpoint: ${opts.containerd.endpoint}
cgroupDriver: cgroupfs
cgroupRoot: ${cgroupRoot}
# This machine's cgroups are v1 (a hybrid): kubelet 1.35+ refuses v1 unless told not to.
failCgroupV1: false
failSwapOn: false
podLogsDir: ${join(dir, "pod-logs")}
resolvConf: ""
# Pull images for the pod's runtime handler (its snapshotter), as KEP-4216 does.
featureGates:
  RuntimeClassInImageCriApi: true
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 5s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 5s
serializeImagePulls: false
`,
    );
    const kubeletKubeconfig = w(
      "kubelet.kubeconfig",
      kubeconfigYaml(server, ca, kubeletClient.cert, kubeletClient.key, "kubelet"),
    );
    processes.push(
      await startProcess({
        name: "kubelet",
        command: KUBE_BINS.kubelet,
        args: [
          `--config=${kubeletConfig}`,
          `--kubeconfig=${kubeletKubeconfig}`,
          `--root-dir=${join(dir, "kubelet")}`,
          `--hostname-override=${NODE_NAME}`,
          "--v=1",
        ],
        ready: { kind: "none" },
        timeoutMs,
      }),
    );
    await waitFor(
      async () => {
        const r = await kubectl([
          "get",
          "node",
          NODE_NAME,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.status === 0 && r.stdout.trim() === "True";
      },
      timeoutMs,
      "the node to be Ready",
      check,
    );
    mark("node Ready");
    if (opts.controllerManager !== false) {
      await waitFor(
        async () => (await kubectl(["get", "serviceaccount", "default"])).status === 0,
        timeoutMs,
        "the default ServiceAccount",
        check,
      );
      mark("default ServiceAccount");
    }
  } catch (err) {
    const out = Object.fromEntries(
      processes.map((p) => [p.name, p.output().split("\n").slice(-15).join("\n")]),
    );
    await stop();
    throw new ProcessError(
      "ERR_PROCESS_START",
      `the test cluster did not start: ${err instanceof Error ? err.message : String(err)}\n${Object.entries(
        out,
      )
        .map(([k, v]) => `--- ${k}\n${v}`)
        .join("\n")}`,
      { cause: err },
    );
  }
  cluster.output = () => Object.fromEntries(processes.map((p) => [p.name, p.output()]));
  return cluster as KubeCluster;
}

/** Polls `ready` every 250 ms; `alive` throws when a component died meanwhile. */
async function waitFor(
  ready: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  alive: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    alive();
    if (await ready()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function cgroupHierarchies(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return ["/sys/fs/cgroup"];
  return readdirSync("/sys/fs/cgroup")
    .map((c) => join("/sys/fs/cgroup", c))
    .filter((p) => existsSync(join(p, "cgroup.procs")));
}

/** Removes a cgroup subtree (deepest first) in every hierarchy; busy ones are left. */
function removeCgroupTree(root: string): void {
  for (const h of cgroupHierarchies()) {
    const top = join(h, root);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string) => {
      dirs.push(d);
      for (const e of readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(join(d, e.name));
    };
    try {
      walk(top);
    } catch {
      continue;
    }
    for (const d of dirs.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // a process is still inside
      }
    }
  }
}
