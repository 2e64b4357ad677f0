import { parseAllDocuments } from "yaml";
import { HostError } from "../errors.js";
import { type PodResources, parseResources } from "./resources.js";

/** The init-data annotation (kata ≥ 3.20) and its older name (kata 3.8–3.19, peer pods). */
export const INITDATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data";
export const INITDATA_ANNOTATION_OLD = "io.katacontainers.config.runtime.cc_init_data";

/** One `env` entry with a literal value (valueFrom is refused: the host would resolve it). */
export interface PodEnv {
  name: string;
  value: string;
}

/** A volume mount of a container. */
export interface PodVolumeMount {
  name: string;
  mountPath: string;
  readOnly: boolean;
}

/** A container of the pod (init or regular). */
export interface PodContainer {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: PodEnv[];
  workingDir: string;
  volumeMounts: PodVolumeMount[];
  /** Exec commands the pod allows (`coco exec`), from exec probes, as genpolicy does. */
  execCommands: string[][];
  runAsUser?: number;
  runAsGroup?: number;
  /** securityContext.readOnlyRootFilesystem */
  readOnlyRootFilesystem: boolean;
  /** securityContext.allowPrivilegeEscalation === false */
  noNewPrivileges: boolean;
  /** securityContext.capabilities (names with the CAP_ prefix). */
  capabilities: { add: string[]; drop: string[] };
  /** `resources` (CPU and memory requests/limits), applied as cgroup limits in the guest. */
  resources: PodResources;
}

/** A pod volume: emptyDir (optionally memory-backed) or a Secret/ConfigMap given inline. */
export type PodVolume =
  | { name: string; kind: "emptyDir"; medium: "" | "Memory" }
  | { name: string; kind: "secret" | "configMap"; source: string; items: Record<string, string> };

/** The parts of a Kubernetes Pod manifest coco runs. */
export interface PodSpec {
  name: string;
  namespace: string;
  runtimeClassName: string;
  annotations: Record<string, string>;
  initContainers: PodContainer[];
  containers: PodContainer[];
  volumes: PodVolume[];
  restartPolicy: "Never" | "OnFailure" | "Always";
  /** Fields accepted but not applied, said out loud by `coco run` (e.g. resource limits). */
  warnings: string[];
  /** Secrets/ConfigMaps found in the same YAML stream (for secret volumes). */
  objects: { kind: string; name: string; data: Record<string, string> }[];
}

const MAX_MANIFEST = 1 << 20;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const bad = (msg: string): never => {
  throw new HostError("ERR_POD_MANIFEST", msg);
};

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) bad(`${where} must be a mapping`);
  return v as Record<string, unknown>;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`${where} must be a list`);
  return v as unknown[];
}

function str(v: unknown, where: string, fallback?: string): string {
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    bad(`${where} is required`);
  }
  if (typeof v !== "string") bad(`${where} must be a string`);
  return v as string;
}

function strings(v: unknown, where: string): string[] {
  return list(v, where).map((s, i) =>
    typeof s === "number" ? String(s) : str(s, `${where}[${i}]`),
  );
}

const SUPPORTED_CONTAINER_KEYS = new Set([
  "name",
  "image",
  "command",
  "args",
  "env",
  "workingDir",
  "volumeMounts",
  "imagePullPolicy",
  "resources",
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "securityContext",
  "terminationMessagePolicy",
  "terminationMessagePath",
]);

function container(v: unknown, where: string): PodContainer {
  const c = obj(v, where);
  for (const k of Object.keys(c)) {
    if (!SUPPORTED_CONTAINER_KEYS.has(k)) {
      throw new HostError("ERR_POD_UNSUPPORTED", `${where}.${k} is not supported`);
    }
  }
  const name = str(c.name, `${where}.name`);
  if (!NAME.test(name) || name.length > 63)
    bad(`${where}.name ${JSON.stringify(name)} is not a DNS label`);
  const env = list(c.env, `${where}.env`).map((e, i) => {
    const o = obj(e, `${where}.env[${i}]`);
    if (o.valueFrom !== undefined) {
      throw new HostError(
        "ERR_POD_UNSUPPORTED",
        `${where}.env[${i}].valueFrom is not supported: put a sealed secret in value instead`,
      );
    }
    return {
      name: str(o.name, `${where}.env[${i}].name`),
      value: str(o.value, `${where}.env[${i}].value`, ""),
    };
  });
  const execCommands: string[][] = [];
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const p = obj(c[probe], `${where}.${probe}`);
    const exec = obj(p.exec, `${where}.${probe}.exec`);
    if (exec.command !== undefined)
      execCommands.push(strings(exec.command, `${where}.${probe}.exec.command`));
  }
  const sc = obj(c.securityContext, `${where}.securityContext`);
  const num = (x: unknown, w: string) => {
    if (x === undefined) return undefined;
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0)
      bad(`${w} must be a non-negative integer`);
    return x as number;
  };
  const runAsUser = num(sc.runAsUser, `${where}.securityContext.runAsUser`);
  const runAsGroup = num(sc.runAsGroup, `${where}.securityContext.runAsGroup`);
  // Every securityContext field is honoured or refused: silently ignoring one (say
  // readOnlyRootFilesystem) would run the workload with less protection than its owner asked for.
  const SC_KEYS = new Set([
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "privileged",
    "capabilities",
  ]);
  for (const k of Object.keys(sc)) {
    if (!SC_KEYS.has(k))
      throw new HostError("ERR_POD_UNSUPPORTED", `${where}.securityContext.${k} is not supported`);
  }
  if (sc.privileged === true) {
    throw new HostError(
      "ERR_POD_UNSUPPORTED",
      `${where}: privileged containers are not supported in a confidential pod`,
    );
  }
  if (sc.runAsNonRoot === true && !runAsUser) {
    bad(
      `${where}: runAsNonRoot needs a non-zero runAsUser (the host cannot read the image's USER under guest pull)`,
    );
  }
  const capsObj = obj(sc.capabilities, `${where}.securityContext.capabilities`);
  const capName = (x: string) => {
    const n = x.toUpperCase();
    return n === "ALL" ? n : n.startsWith("CAP_") ? n : `CAP_${n}`;
  };
  const capabilities = {
    add: strings(capsObj.add, `${where}.securityContext.capabilities.add`).map(capName),
    drop: strings(capsObj.drop, `${where}.securityContext.capabilities.drop`).map(capName),
  };
  return {
    name,
    image: str(c.image, `${where}.image`),
    command: strings(c.command, `${where}.command`),
    args: strings(c.args, `${where}.args`),
    env,
    workingDir: str(c.workingDir, `${where}.workingDir`, ""),
    volumeMounts: list(c.volumeMounts, `${where}.volumeMounts`).map((m, i) => {
      const o = obj(m, `${where}.volumeMounts[${i}]`);
      return {
        name: str(o.name, `${where}.volumeMounts[${i}].name`),
        mountPath: str(o.mountPath, `${where}.volumeMounts[${i}].mountPath`),
        readOnly: o.readOnly === true,
      };
    }),
    execCommands,
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    resources: parseResources(c.resources, `${where}.resources`),
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    capabilities,
  };
}

function volume(v: unknown, where: string): PodVolume {
  const o = obj(v, where);
  const name = str(o.name, `${where}.name`);
  if (o.emptyDir !== undefined) {
    const e = obj(o.emptyDir, `${where}.emptyDir`);
    const medium = str(e.medium, `${where}.emptyDir.medium`, "");
    if (medium !== "" && medium !== "Memory") bad(`${where}.emptyDir.medium must be "" or Memory`);
    return { name, kind: "emptyDir", medium: medium as "" | "Memory" };
  }
  for (const kind of ["secret", "configMap"] as const) {
    if (o[kind] !== undefined) {
      const s = obj(o[kind], `${where}.${kind}`);
      const source = str(kind === "secret" ? s.secretName : s.name, `${where}.${kind} name`);
      return { name, kind, source, items: {} };
    }
  }
  throw new HostError(
    "ERR_POD_UNSUPPORTED",
    `${where}: only emptyDir, secret and configMap volumes are supported`,
  );
}

/**
 * Parses a Kubernetes Pod manifest (a YAML stream; Secrets and ConfigMaps in the same stream are
 * kept for volumes). Anything coco cannot honour faithfully is refused with ERR_POD_UNSUPPORTED
 * rather than silently ignored: hostPath, hostNetwork, privileged, valueFrom...
 */
export function parsePod(text: string): PodSpec {
  return parseWorkload(text, { podsOnly: true }).pod;
}

/** Workload kinds whose pod template `coco policy generate` accepts, and how replicas are named. */
export const WORKLOAD_KINDS = [
  "Deployment",
  "ReplicaSet",
  "StatefulSet",
  "DaemonSet",
  "Job",
] as const;

/** A controller that makes pods from a template (the pods' names follow its naming rule). */
export interface WorkloadOwner {
  kind: (typeof WORKLOAD_KINDS)[number];
  name: string;
  /** For a Job: `spec.completionMode: Indexed` puts the index in the pod name. */
  indexed?: boolean;
}

/** A Pod, or the pod template of a workload with its owner. */
export interface Workload {
  pod: PodSpec;
  owner?: WorkloadOwner;
  /** Where the pod's metadata/spec live in the document (`[]` for a Pod). */
  templatePath: string[];
}

/** The placeholder a workload's pod name becomes in its policy (any replica's name matches). */
export const SANDBOX_NAME_PLACEHOLDER = "$(sandbox-name)";

/**
 * Parses a Pod manifest, or a Deployment/ReplicaSet/StatefulSet/DaemonSet/Job whose pod template
 * is checked exactly as a Pod's spec. A template's pod gets the name {@link SANDBOX_NAME_PLACEHOLDER}:
 * its replicas are named by their controller (see policy_data.sandbox_name in the rules).
 */
export function parseWorkload(text: string, opts: { podsOnly?: boolean } = {}): Workload {
  if (text.length > MAX_MANIFEST) bad(`manifest is larger than ${MAX_MANIFEST} bytes`);
  let docs: unknown[];
  try {
    docs = parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw d.errors[0];
      return d.toJS({ maxAliasCount: 100 });
    });
  } catch (err) {
    return bad(`manifest is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const objects: PodSpec["objects"] = [];
  let pod: Record<string, unknown> | undefined;
  let owner: WorkloadOwner | undefined;
  let templatePath: string[] = [];
  for (const [i, d] of docs.entries()) {
    if (d === null || d === undefined) continue;
    const o = obj(d, `document ${i}`);
    const kind = str(o.kind, `document ${i}.kind`);
    if (kind === "Pod" || (WORKLOAD_KINDS as readonly string[]).includes(kind)) {
      if (pod) bad("the manifest holds more than one Pod or workload");
      if (kind === "Pod") {
        pod = o;
        continue;
      }
      if (opts.podsOnly)
        throw new HostError(
          "ERR_POD_UNSUPPORTED",
          `kind ${kind} is not run by coco run: Kubernetes makes its pods (coco policy generate accepts it)`,
        );
      const meta = obj(o.metadata, `${kind}.metadata`);
      const ownerName = str(meta.name, `${kind}.metadata.name`);
      if (!NAME.test(ownerName) || ownerName.length > 63)
        bad(`${kind}.metadata.name ${JSON.stringify(ownerName)} is not a DNS label`);
      const spec = obj(o.spec, `${kind}.spec`);
      if (spec.template === undefined || spec.template === null)
        bad(`${kind}.spec.template is required`);
      const template = obj(spec.template, `${kind}.spec.template`);
      const tmeta = obj(template.metadata, `${kind}.spec.template.metadata`);
      owner = {
        kind: kind as WorkloadOwner["kind"],
        name: ownerName,
        ...(kind === "Job" ? { indexed: spec.completionMode === "Indexed" } : {}),
      };
      checkReplicaNames(owner);
      // The template is a pod whose name its controller chooses and whose namespace is the owner's.
      pod = {
        metadata: {
          ...tmeta,
          name: "replica",
          ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
        },
        spec: template.spec,
      };
      templatePath = ["spec", "template"];
    } else if (kind === "Secret" || kind === "ConfigMap") {
      const meta = obj(o.metadata, `${kind}.metadata`);
      const data: Record<string, string> = {};
      const raw = obj(o.data, `${kind}.data`);
      for (const [k, v] of Object.entries(raw)) {
        const s = str(v, `${kind}.data.${k}`);
        data[k] = kind === "Secret" ? Buffer.from(s, "base64").toString("utf8") : s;
      }
      for (const [k, v] of Object.entries(obj(o.stringData, `${kind}.stringData`)))
        data[k] = str(v, `${kind}.stringData.${k}`);
      objects.push({ kind, name: str(meta.name, `${kind}.metadata.name`), data });
    } else {
      throw new HostError(
        "ERR_POD_UNSUPPORTED",
        `kind ${kind} is not supported (only Pod, ${WORKLOAD_KINDS.join(", ")}, Secret, ConfigMap)`,
      );
    }
  }
  if (!pod) return bad("the manifest holds no Pod or workload");
  const meta = obj(pod.metadata, "metadata");
  const spec = obj(pod.spec, "spec");
  for (const k of ["hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace"]) {
    if (spec[k] === true)
      throw new HostError(
        "ERR_POD_UNSUPPORTED",
        `spec.${k} is not supported in a confidential pod`,
      );
  }
  const name = str(meta.name, "metadata.name");
  if (!NAME.test(name) || name.length > 63)
    bad(`metadata.name ${JSON.stringify(name)} is not a DNS label`);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(meta.annotations, "metadata.annotations"))) {
    annotations[k] = str(v, `metadata.annotations.${k}`);
  }
  const containers = list(spec.containers, "spec.containers").map((c, i) =>
    container(c, `spec.containers[${i}]`),
  );
  if (containers.length === 0) bad("spec.containers is empty");
  const initContainers = list(spec.initContainers, "spec.initContainers").map((c, i) =>
    container(c, `spec.initContainers[${i}]`),
  );
  const names = new Set<string>();
  for (const c of [...initContainers, ...containers]) {
    if (names.has(c.name)) bad(`container name ${c.name} is used twice`);
    names.add(c.name);
  }
  const volumes = list(spec.volumes, "spec.volumes").map((v, i) => volume(v, `spec.volumes[${i}]`));
  for (const v of volumes) {
    if (v.kind === "emptyDir") continue;
    const o = objects.find(
      (x) => x.name === v.source && x.kind.toLowerCase() === v.kind.toLowerCase(),
    );
    if (!o) bad(`volume ${v.name}: ${v.kind} ${v.source} is not in the manifest`);
    v.items = o!.data;
  }
  for (const c of [...initContainers, ...containers]) {
    for (const m of c.volumeMounts) {
      if (!volumes.some((v) => v.name === m.name))
        bad(`container ${c.name} mounts unknown volume ${m.name}`);
      if (!m.mountPath.startsWith("/"))
        bad(`container ${c.name}: mountPath ${m.mountPath} is not absolute`);
    }
  }
  // Kubernetes defaults to Always; a manifest without restartPolicy has always meant "run once"
  // to coco, so the default stays Never (say Always to get restarts).
  const restart = str(spec.restartPolicy, "spec.restartPolicy", owner ? "Always" : "Never");
  if (restart !== "Never" && restart !== "OnFailure" && restart !== "Always")
    bad("spec.restartPolicy must be Never, OnFailure or Always");
  const warnings: string[] = [];
  const parsed: PodSpec = {
    warnings,
    name: owner ? SANDBOX_NAME_PLACEHOLDER : name,
    namespace: str(meta.namespace, "metadata.namespace", "default"),
    runtimeClassName: str(spec.runtimeClassName, "spec.runtimeClassName", ""),
    annotations,
    initContainers,
    containers,
    volumes,
    restartPolicy: restart as PodSpec["restartPolicy"],
    objects,
  };
  return { pod: parsed, ...(owner ? { owner } : {}), templatePath };
}

/** The longest name a generated name's base keeps (Kubernetes' maxGeneratedNameLength, 63 - 5). */
const MAX_GENERATED_BASE = 58;

/**
 * Refuses an owner whose replicas' names would not keep `<name>-` whole: Kubernetes truncates a
 * generated name's base to 58 characters, and a policy must know every replica's prefix.
 */
function checkReplicaNames(o: WorkloadOwner): void {
  // The longest base each controller hands to generateName (StatefulSet names are not generated).
  const base =
    o.kind === "Deployment"
      ? o.name.length + 12 // <name>-<pod-template-hash, up to 10>-
      : o.kind === "Job" && o.indexed
        ? o.name.length + 1 + 8 // <name>-<index>- (index up to 10^7)
        : o.name.length + 1;
  const limit = o.kind === "StatefulSet" ? 63 - 6 : MAX_GENERATED_BASE;
  if (base > limit)
    throw new HostError(
      "ERR_POD_MANIFEST",
      `${o.kind} name ${o.name} is too long: Kubernetes would cut its replicas' names, so no policy can name them; use at most ${o.name.length - (base - limit)} characters`,
    );
}
