import { stringify as toToml } from "smol-toml";
import { parseAllDocuments } from "yaml";
import {
  agentMessage,
  decodeAgentMessage,
  encodeAgentMessage,
  encodeInitDataAnnotation,
  type Json,
  toKataJson,
} from "../../protocol/agent/index.js";
import { HostError } from "../errors.js";
import type { ImageInfo } from "../runtime/image-config.js";
import {
  INITDATA_ANNOTATION,
  INITDATA_ANNOTATION_OLD,
  type PodSpec,
  WORKLOAD_KINDS,
  type WorkloadOwner,
} from "../runtime/pod.js";
import {
  containerPlan,
  DEFAULT_CAPS,
  GUEST_ROOT,
  GUEST_SHARED,
  SHM_STORAGE,
} from "../runtime/requests.js";
import { toCreateContainerRequest } from "../shim/spec.js";
import { ctrBundleSpec, ctrContainer } from "./ctr-spec.js";
import { RULES_REGO } from "./rules.rego.js";

/** Choices the pod owner makes beyond the manifest. */
export interface GenerateOptions {
  /** Commands `coco exec` may run in any container (argv arrays). Default: none. */
  allowExec?: string[][];
  /** Let the host read container output (ReadStdout/ReadStderr). Default: denied. */
  allowLogs?: boolean;
  /** Let the host write to stdin. Default: denied. */
  allowStdin?: boolean;
  /** Extra init-data files (aa.toml, cdh.toml), kept as given. */
  initDataFiles?: Record<string, string>;
  /**
   * Refuse a CreateContainer whose CPU/memory limits differ from the manifest's. Default off, as
   * genpolicy: the host sizes the VM anyway, so limits are an availability matter it controls.
   */
  pinResources?: boolean;
  /**
   * Admit the variables kubelet adds for Services (`KUBERNETES_SERVICE_HOST=10.0.0.1`,
   * `<SVC>_PORT_<n>_TCP=tcp://…`), by their shapes ({@link SERVICE_ENV_REGEX}), as genpolicy's
   * default settings do. Default true: kubelet always adds the `kubernetes` Service's, so a pod
   * under kubelet cannot start without them. Their values are the host's (an address, a port).
   */
  serviceEnv?: boolean;
  /** Init-data digest algorithm (default sha256, which SNP HOST_DATA holds whole). */
  algorithm?: "sha256" | "sha384" | "sha512";
  /**
   * The controller whose pod template this is: the policy then admits any name it gives a
   * replica (as genpolicy does for Deployments), so every replica carries the same init-data.
   */
  owner?: WorkloadOwner;
  /**
   * The policy is for `ctr run` (a container with no CRI pod around it, see ctr-spec.ts): one
   * container, its request shaped as the shim makes it from ctr's bundle, no CRI annotations
   * and no sandbox name.
   */
  ctr?: boolean;
}

// Kubernetes service env (kubelet's envvars.FromServices): the Service name upper-cased with
// `-` → `_` (an RFC 1035 label: a letter first), IPv4 cluster addresses, ports, protocols.
const SVC = "[A-Z](?:[A-Z0-9_]{0,61}[A-Z0-9])?";
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const IP = `${OCTET}(?:\\.${OCTET}){3}`;
const PORT = "[0-9]{1,5}";
const PROTO = "(?:tcp|udp|sctp)";
const UPROTO = "(?:TCP|UDP|SCTP)";

/** Whole-line patterns of the env kubelet adds for each Service (genpolicy's allow_env_regex). */
export const SERVICE_ENV_REGEX: string[] = [
  `^${SVC}_SERVICE_HOST=${IP}$`,
  `^${SVC}_SERVICE_PORT=${PORT}$`,
  `^${SVC}_SERVICE_PORT_[A-Z0-9_]{1,63}=${PORT}$`,
  `^${SVC}_PORT=${PROTO}://${IP}:${PORT}$`,
  `^${SVC}_PORT_${PORT}_${UPROTO}=${PROTO}://${IP}:${PORT}$`,
  `^${SVC}_PORT_${PORT}_${UPROTO}_PROTO=${PROTO}$`,
  `^${SVC}_PORT_${PORT}_${UPROTO}_PORT=${PORT}$`,
  `^${SVC}_PORT_${PORT}_${UPROTO}_ADDR=${IP}$`,
];

const BUNDLE = "$(bundle-id)";
const SANDBOX = "$(sandbox-id)";
const SFPREFIX = `${GUEST_SHARED}/`;

function kataJson(name: string, msg: object): { [k: string]: Json } {
  return toKataJson(agentMessage(name), decodeAgentMessage(name, encodeAgentMessage(name, msg)));
}

/** Rewrites concrete guest paths of a planned request back into the policy's placeholders. */
function placeholders(v: Json): Json {
  if (typeof v === "string") {
    let s = v;
    if (s.startsWith(SFPREFIX))
      s = `$(sfprefix)${s.slice(SFPREFIX.length).replace(/^(\$\(bundle-id\))-[0-9a-f]{16}-/, "$1-$(16hex)-")}`;
    else if (s.startsWith(`${GUEST_ROOT}/${BUNDLE}`)) s = `$(cpath)${s.slice(GUEST_ROOT.length)}`;
    return s;
  }
  if (Array.isArray(v)) return v.map(placeholders);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, placeholders(x)]));
  }
  return v;
}

/** The per-pod `policy_data` document (genpolicy's layout). */
export function policyData(
  pod: PodSpec,
  images: ReadonlyMap<string, ImageInfo>,
  o: GenerateOptions = {},
): Json {
  if (o.ctr === true) return ctrPolicyData(pod, images, o);
  const containers: Json[] = [];
  for (const c of [...pod.initContainers, ...pod.containers]) {
    const image = images.get(c.image);
    if (!image) throw new HostError("ERR_POLICY_GENERATE", `no image information for ${c.image}`);
    const plan = containerPlan(pod, c, image, { cid: BUNDLE, sandboxId: SANDBOX });
    const req = placeholders(kataJson("CreateContainerRequest", plan.request)) as {
      [k: string]: Json;
    };
    containers.push({
      OCI: req.OCI as Json,
      storages: req.storages as Json,
      image: image.pinned,
      sandbox_pidns: false,
      exec_commands: c.execCommands,
    });
  }
  return commonPolicyData(
    containers,
    o.owner !== undefined
      ? sandboxNamePattern(o.owner)
      : { owner: "Pod", prefix: pod.name, shape: "exact" },
    o,
  );
}

/**
 * A `ctr run` container's policy: the request the shim makes from the bundle ctr writes
 * (ctr-spec.ts) through the shim's own mapping, with containerd's image reference; the sandbox
 * has no name (shape `none`: the request must carry no CRI annotation at all).
 */
function ctrPolicyData(
  pod: PodSpec,
  images: ReadonlyMap<string, ImageInfo>,
  o: GenerateOptions,
): Json {
  const c = ctrContainer(pod);
  const image = images.get(c.image);
  if (!image) throw new HostError("ERR_POLICY_GENERATE", `no image information for ${c.image}`);
  const request = toCreateContainerRequest(ctrBundleSpec(c, image), {
    containerId: BUNDLE,
    sandboxId: SANDBOX,
    standaloneImage: image.pinned,
  });
  const req = placeholders(kataJson("CreateContainerRequest", request)) as { [k: string]: Json };
  return commonPolicyData(
    [
      {
        OCI: req.OCI as Json,
        storages: req.storages as Json,
        image: image.pinned,
        sandbox_pidns: false,
        exec_commands: c.execCommands,
      },
    ],
    { owner: "ctr", prefix: "", shape: "none" },
    o,
  );
}

function commonPolicyData(containers: Json[], sandboxName: Json, o: GenerateOptions): Json {
  return {
    containers,
    sandbox_name: sandboxName,
    common: {
      cpath: GUEST_ROOT,
      sfprefix: SFPREFIX,
      default_caps: DEFAULT_CAPS,
      pin_resources: o.pinResources === true,
    },
    sandbox: { storages: [kataJson("Storage", SHM_STORAGE)] },
    request_defaults: {
      CreateContainerRequest: {
        allow_env_prefix: [],
        allow_env_regex: o.serviceEnv === false ? [] : SERVICE_ENV_REGEX,
      },
      CopyFileRequest: ["$(sfprefix)"],
      ExecProcessRequest: { allowed_commands: o.allowExec ?? [], regex: [], commands: [] },
      CloseStdinRequest: o.allowStdin === true,
      ReadStreamRequest: o.allowLogs === true,
      WriteStreamRequest: o.allowStdin === true,
      UpdateEphemeralMountsRequest: false,
      GetDiagnosticDataRequest: false,
    },
  };
}

/**
 * How a controller names its pods, for the rules' `allow_sandbox_name`: `<name>-` then
 * Deployment `<pod-template-hash>-<5>`, ReplicaSet/DaemonSet/Job `<5>`, indexed Job
 * `<index>-<5>`, StatefulSet `<ordinal>` (the hash and the 5 come from Kubernetes' safe alphabet).
 * A Pod's own policy names it exactly (shape `exact`: the annotation must equal the name).
 */
export function sandboxNamePattern(owner: WorkloadOwner): Json {
  const shape =
    owner.kind === "Deployment"
      ? "hash-random"
      : owner.kind === "StatefulSet"
        ? "ordinal"
        : owner.kind === "Job" && owner.indexed
          ? "index-random"
          : "random";
  return { owner: owner.kind, prefix: `${owner.name}-`, shape };
}

/** The whole policy text: the fixed rules, then `policy_data := {...}`. */
export function policyText(data: Json): string {
  return `${RULES_REGO}\npolicy_data := ${JSON.stringify(data, null, 2)}\n`;
}

/** The init-data TOML carrying the policy (and any aa.toml / cdh.toml given). */
export function initDataToml(policy: string, o: GenerateOptions = {}): string {
  const data: Record<string, string> = { ...(o.initDataFiles ?? {}), "policy.rego": policy };
  return toToml({ version: "0.1.0", algorithm: o.algorithm ?? "sha256", data });
}

/** What `coco policy generate` produces. */
export interface GeneratedPolicy {
  policy: string;
  initData: string;
  annotation: string;
  /** The manifest with the init-data annotation set and every image pinned by digest. */
  yaml: string;
}

/**
 * Generates a pod's policy and init-data from its manifest: images are resolved to digests (the
 * manifest is rewritten to use them), commands/env/mounts/storages come from the same request
 * builder the runtime uses, exec and log reading are denied unless asked for.
 */
export function generatePolicy(
  manifest: string,
  pod: PodSpec,
  images: ReadonlyMap<string, ImageInfo>,
  o: GenerateOptions = {},
): GeneratedPolicy {
  const pinned: PodSpec = {
    ...pod,
    initContainers: pod.initContainers.map((c) => ({
      ...c,
      image: images.get(c.image)?.pinned ?? c.image,
    })),
    containers: pod.containers.map((c) => ({
      ...c,
      image: images.get(c.image)?.pinned ?? c.image,
    })),
  };
  const byPinned = new Map([...images.values()].map((i) => [i.pinned, i]));
  const policy = policyText(policyData(pinned, byPinned, o));
  const initData = initDataToml(policy, o);
  const annotation = encodeInitDataAnnotation(initData);
  const docs = parseAllDocuments(manifest);
  for (const d of docs) {
    const kind = d.get("kind");
    // A Pod's own metadata/spec, or a workload's pod template.
    const at =
      kind === "Pod"
        ? []
        : (WORKLOAD_KINDS as readonly unknown[]).includes(kind)
          ? ["spec", "template"]
          : undefined;
    if (at === undefined) continue;
    d.setIn([...at, "metadata", "annotations", INITDATA_ANNOTATION], annotation);
    if (d.hasIn([...at, "metadata", "annotations", INITDATA_ANNOTATION_OLD]))
      d.deleteIn([...at, "metadata", "annotations", INITDATA_ANNOTATION_OLD]);
    for (const key of ["initContainers", "containers"]) {
      const list = key === "containers" ? pinned.containers : pinned.initContainers;
      list.forEach((c, i) => {
        d.setIn([...at, "spec", key, i, "image"], c.image);
      });
    }
  }
  return { policy, initData, annotation, yaml: docs.map((d) => d.toString()).join("---\n") };
}
