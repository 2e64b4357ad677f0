import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushBusyboxImage } from "./busybox-image.js";
import { runCommand } from "./command.js";
import { type ContainerdHarness, containerdSkip, startContainerd } from "./containerd.js";
import { type KubeCluster, kubeSkip, startCluster } from "./kube.js";
import { publishOwnerImage } from "./owner-image.js";
import { repoRoot } from "./paths.js";
import { type RunningProcess, startProcess } from "./process.js";
import { startRegistry, type TestRegistry } from "./registry.js";
import { cocoCli, type TrusteeProcess } from "./trustee-process.js";

/** The RuntimeClasses a cluster admin applies (coco-dev, coco-qemu). */
export const RUNTIME_CLASSES = join(repoRoot, "deploy", "runtimeclasses.yaml");

/** A skip reason when containerd's or the cluster's peers are missing, or false. */
export function kubeCocoSkip(): string | false {
  return containerdSkip() || kubeSkip();
}

/** A node with coco-ts installed, and its cluster. */
export interface CocoNode {
  work: string;
  registry: TestRegistry;
  /** busybox in the registry, by tag. */
  image: string;
  h: ContainerdHarness;
  k: KubeCluster;
  snapshotter: RunningProcess;
  /** Where the shim keeps per-pod state (COCO_SHIM_STATE_DIR in containerd's environment). */
  shimState: string;
  /** The `coco install containerd` options used (so uninstall names the same paths). */
  installArgs: string[];
  /** Runs the coco CLI; a non-zero exit throws with its stderr. */
  coco(args: readonly string[], o?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Milliseconds from the start to each step. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/** Options for {@link startCocoNode}. */
export interface CocoNodeOptions {
  /** Start the controller manager (Deployments). Default true. */
  controllerManager?: boolean;
}

/**
 * Installs coco-ts onto a fresh containerd with the CLI, starts the snapshotter, containerd and
 * the cluster, applies the RuntimeClasses. Stop everything with `stop()`.
 */
export async function startCocoNode(o: CocoNodeOptions = {}): Promise<CocoNode> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), "coco-kube-node-"));
  const shimState = join(work, "shim-state");
  const coco = async (
    args: readonly string[],
    opt: { input?: string; timeoutMs?: number } = {},
  ) => {
    const r = await runCommand(process.execPath, [cocoCli, ...args], opt);
    if (r.status !== 0)
      throw new Error(`coco ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  const installArgs = [
    "--containerd-config",
    join(work, "etc", "containerd", "config.toml"),
    "--conf-dir",
    join(work, "etc", "containerd", "conf.d"),
    "--bin-dir",
    join(work, "bin"),
    "--etc-dir",
    join(work, "etc", "coco"),
    "--snapshotter-socket",
    join(work, "run", "snapshotter.sock"),
  ];
  let registry: TestRegistry | undefined;
  let snapshotter: RunningProcess | undefined;
  let h: ContainerdHarness | undefined;
  let k: KubeCluster | undefined;
  let installed = false;
  const stop = async () => {
    await k?.stop();
    await h?.stop();
    await snapshotter?.stop();
    if (installed) await coco(["uninstall", "containerd", ...installArgs]);
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    registry = await startRegistry("plain");
    const image = (await pushBusyboxImage(registry.host)).tagged;
    timings.registry = Date.now() - t0;
    mkdirSync(join(work, "run"), { recursive: true });
    // The node's containerd config, importing its drop-in folder (the harness's containerd
    // imports the drop-in the installer writes there).
    mkdirSync(join(work, "etc", "containerd", "conf.d"), { recursive: true });
    writeFileSync(
      join(work, "etc", "containerd", "config.toml"),
      `version = 3\nimports = ["${join(work, "etc", "containerd", "conf.d")}/*.toml"]\n`,
    );
    // The admin's step on the node: `coco install containerd` (here into the private folder).
    await coco(["install", "containerd", ...installArgs]);
    installed = true;
    snapshotter = await startProcess({
      name: "coco-snapshotter",
      command: join(work, "bin", "coco-snapshotter"),
      args: [
        "--socket",
        join(work, "run", "snapshotter.sock"),
        "--root",
        join(work, "snapshotter"),
      ],
      ready: { kind: "file", path: join(work, "run", "snapshotter.sock") },
      timeoutMs: 60_000,
    });
    timings.installed = Date.now() - t0;
    h = await startContainerd({
      imports: [join(work, "etc", "containerd", "conf.d", "coco.toml")],
      // containerd hands its environment to the shims: the shim's state folder, and the loopback
      // registry the guest pulls from over plain HTTP.
      env: { COCO_SHIM_STATE_DIR: shimState, COCO_SHIM_INSECURE_REGISTRIES: registry.host },
    });
    timings.containerd = Date.now() - t0;
    k = await startCluster({
      containerd: h,
      ...(o.controllerManager !== undefined ? { controllerManager: o.controllerManager } : {}),
      timeoutMs: 600_000,
    });
    timings.cluster = Date.now() - t0;
    await k.kubectlOk(["apply", "-f", RUNTIME_CLASSES]);
    timings.runtimeClasses = Date.now() - t0;
    if (o.controllerManager === false) {
      // Without the controller manager nothing creates the namespace's default ServiceAccount,
      // and admission refuses pods naming a missing one: create it as its controller would.
      await k.kubectlOk(["create", "serviceaccount", "default"]);
    }
    const snap = snapshotter;
    return {
      work,
      registry,
      image,
      h,
      k,
      snapshotter: snap,
      shimState,
      installArgs,
      coco,
      timings,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** What a pod's owner prepared in the registry and in Trustee. */
export interface OwnerImage {
  /** The encrypted, cosign-signed image (by tag). */
  encrypted: string;
  /** The sealed secret (`sealed.…`) for the pod's env. */
  sealed: string;
  /** The image signature policy's KBS URI (for `coco policy generate --image-policy-uri`). */
  policyUri: string;
}

/**
 * The owner's steps before writing the pod: encrypt the node's busybox with a Trustee-held key
 * (`coco image encrypt`), sign it with a fresh cosign key (`coco image sign`), put the public key
 * and a signature policy requiring it into Trustee, and seal `secret` (Trustee holds the value).
 */
export async function prepareOwnerImage(
  node: CocoNode,
  trustee: TrusteeProcess,
  secret: string,
): Promise<OwnerImage> {
  const encrypted = `${node.registry.host}/coco/busybox-enc:v1`;
  const { policyUri } = await publishOwnerImage(trustee, {
    source: node.image,
    target: encrypted,
    work: node.work,
    scope: node.registry.host,
  });
  // The sealed secret, with the CLI: a signing key pair, its public half and the value in
  // Trustee, then `coco secret seal … vault` naming where the value lives.
  const keys = join(node.work, "sealing-keys");
  await node.coco(["secret", "keygen", "--kid", "app", "--output-dir", keys]);
  await trustee.putResource(
    "default/sealing-key/app",
    readFileSync(join(keys, "app-public.json"), "utf8"),
  );
  await trustee.putResource("default/app/secret", secret);
  const sealed = (
    await node.coco([
      "secret",
      "seal",
      "--signing-kid",
      "kbs:///default/sealing-key/app",
      "--signing-jwk-path",
      join(keys, "app-private.json"),
      "vault",
      "--resource-uri",
      "kbs:///default/app/secret",
    ])
  ).trim();
  return { encrypted, sealed, policyUri };
}

/** The parts of a Pod object the tests read. */
export interface PodObject {
  status?: {
    phase?: string;
    containerStatuses?: {
      state?: {
        running?: object;
        waiting?: { reason?: string; message?: string };
        terminated?: { exitCode?: number; reason?: string; message?: string };
      };
    }[];
  };
}

/**
 * Polls pod `name` every 500 ms until `until` returns a value (not undefined); resolves with it,
 * the pod and the time waited. Times out with the pod's last status.
 */
export async function waitPod<T>(
  k: KubeCluster,
  name: string,
  until: (pod: PodObject) => T | undefined | Promise<T | undefined>,
  timeoutMs = 240_000,
): Promise<{ value: T; pod: PodObject; ms: number }> {
  const t0 = Date.now();
  let last = "";
  for (;;) {
    const r = await k.kubectl(["get", "pod", name, "-o", "json"]);
    if (r.status === 0) {
      const pod = JSON.parse(r.stdout) as PodObject;
      last = JSON.stringify(pod.status ?? {});
      const value = await until(pod);
      if (value !== undefined) return { value, pod, ms: Date.now() - t0 };
    } else last = r.stderr.trim();
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`pod ${name}: condition not met in ${timeoutMs} ms; last status ${last}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
