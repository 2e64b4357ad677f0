/**
 * Instance type and image selection from pod annotations, as cloud-api-adaptor does it
 * (docs/instance-selection.md, `SelectInstanceTypeToUse`): an explicit `machine_type` wins and
 * must be on the allow-list; else the smallest type that fits `default_vcpus`/`default_memory`
 * (memory first, then vCPUs); else the default type. The image comes from the `image`
 * annotation (allow-listed) or the default. Unlike upstream, an annotation that does not parse
 * is refused instead of read as 0.
 */
import { PEERPOD_ANNOTATIONS } from "../../protocol/peerpod/index.js";
import { HostError } from "../errors.js";

/** One instance type (flavour). */
export interface InstanceType {
  name: string;
  vcpus: number;
  memoryMiB: number;
}

/** What the adaptor may choose from. */
export interface InstanceTypeConfig {
  types: readonly InstanceType[];
  defaultType: string;
  /** Images a pod may ask for; `defaultImage` is always allowed. */
  images: readonly string[];
  defaultImage: string;
}

/** The adaptor's choice for one pod. */
export interface InstanceChoice {
  type: InstanceType;
  image: string;
  why: string;
}

const fail = (msg: string): never => {
  throw new HostError("ERR_PEERPOD_INSTANCE_TYPE", msg);
};

function positiveInt(annotations: Record<string, string>, key: string): number | undefined {
  const v = annotations[key];
  if (v === undefined || v === "") return undefined;
  if (!/^[0-9]{1,7}$/.test(v.trim()) || Number(v) === 0)
    fail(`annotation ${key}=${JSON.stringify(v)} is not a positive integer`);
  return Number(v);
}

/** Parses `name=VCPUS:MEMORY_MIB[,…]` (the adaptor's `--instance-types`). */
export function parseInstanceTypes(text: string): InstanceType[] {
  const out: InstanceType[] = [];
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=([0-9]{1,4}):([0-9]{1,7})$/.exec(item);
    if (!m || Number(m[2]) === 0 || Number(m[3]) < 64)
      fail(
        `instance type ${JSON.stringify(item)} is not NAME=VCPUS:MEMORY_MIB (at least 1 vCPU, 64 MiB)`,
      );
    if (out.some((t) => t.name === m?.[1])) fail(`instance type ${m?.[1]} is listed twice`);
    out.push({ name: m?.[1] as string, vcpus: Number(m?.[2]), memoryMiB: Number(m?.[3]) });
  }
  if (out.length === 0) fail("no instance types");
  return out;
}

/** Chooses the instance type and image for a pod's annotations. */
export function selectInstance(
  annotations: Record<string, string>,
  cfg: InstanceTypeConfig,
): InstanceChoice {
  const byName = (n: string) => cfg.types.find((t) => t.name === n);
  const image = annotations[PEERPOD_ANNOTATIONS.image] || cfg.defaultImage;
  if (image !== cfg.defaultImage && !cfg.images.includes(image))
    fail(
      `image ${JSON.stringify(image)} (annotation ${PEERPOD_ANNOTATIONS.image}) is not an allowed pod VM image; allowed: ${[cfg.defaultImage, ...cfg.images].join(", ")}`,
    );
  const asked = annotations[PEERPOD_ANNOTATIONS.machineType];
  if (asked) {
    const t = byName(asked);
    if (!t)
      fail(
        `instance type ${JSON.stringify(asked)} (annotation ${PEERPOD_ANNOTATIONS.machineType}) is not offered; offered: ${cfg.types.map((x) => x.name).join(", ")}`,
      );
    return { type: t as InstanceType, image, why: `${PEERPOD_ANNOTATIONS.machineType}=${asked}` };
  }
  const vcpus = positiveInt(annotations, PEERPOD_ANNOTATIONS.vcpus);
  const mem = positiveInt(annotations, PEERPOD_ANNOTATIONS.memory);
  if (vcpus !== undefined || mem !== undefined) {
    const fits = [...cfg.types]
      .sort((a, b) => a.memoryMiB - b.memoryMiB || a.vcpus - b.vcpus)
      .find((t) => t.vcpus >= (vcpus ?? 0) && t.memoryMiB >= (mem ?? 0));
    if (!fits)
      fail(
        `no instance type offers ${vcpus ?? "any"} vCPUs and ${mem ?? "any"} MiB; offered: ${cfg.types.map((t) => `${t.name}=${t.vcpus}:${t.memoryMiB}`).join(", ")}`,
      );
    return {
      type: fits as InstanceType,
      image,
      why: `best fit for ${vcpus ?? "-"} vCPUs, ${mem ?? "-"} MiB`,
    };
  }
  const d = byName(cfg.defaultType);
  if (!d) return fail(`the default instance type ${cfg.defaultType} is not offered`);
  return { type: d, image, why: "default" };
}
