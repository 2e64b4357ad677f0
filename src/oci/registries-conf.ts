/**
 * containers-registries.conf (the subset image-rs supports): unqualified-search registries,
 * `[[registry]]` rules with prefix, location (remap), insecure, blocked and mirrors. Turns one
 * reference into an ordered list of pull tasks; the first that succeeds wins.
 */
import { parse as parseToml } from "smol-toml";
import { OciError } from "./errors.js";
import { formatReference, type ImageReference, parseReference } from "./reference.js";

/** One endpoint (a rule's location or a mirror). */
export interface RegistryEndpoint {
  location: string;
  insecure: boolean;
}

/** One `[[registry]]` rule. */
export interface RegistryRule extends RegistryEndpoint {
  prefix: string;
  blocked: boolean;
  mirrors: RegistryEndpoint[];
}

/** A parsed registries.conf. */
export interface RegistriesConf {
  unqualifiedSearch: string[];
  rules: RegistryRule[];
}

/** Where to try pulling from, in order. */
export interface PullTask {
  reference: ImageReference;
  insecure: boolean;
  kind: "mirror" | "remap" | "original";
}

function fail(why: string): never {
  throw new OciError("ERR_OCI_REGISTRY_CONFIG", `registries.conf: ${why}`);
}

/** Parses registries.conf TOML text (or an already-parsed table, as CDH's inline `registry_config`). */
export function parseRegistriesConf(input: string | Record<string, unknown>): RegistriesConf {
  let doc: Record<string, unknown>;
  if (typeof input === "string") {
    try {
      doc = parseToml(input) as Record<string, unknown>;
    } catch (err) {
      throw new OciError("ERR_OCI_REGISTRY_CONFIG", "registries.conf is not valid TOML", {
        cause: err,
      });
    }
  } else doc = input;
  const usr = doc["unqualified-search-registries"] ?? ["docker.io"];
  if (!Array.isArray(usr) || usr.some((s) => typeof s !== "string"))
    fail("unqualified-search-registries must be a list of strings");
  const rawRules = doc.registry ?? [];
  if (!Array.isArray(rawRules)) fail("registry must be an array of tables");
  const rules = rawRules.map((r, i): RegistryRule => {
    const o = r as Record<string, unknown>;
    const str = (k: string) => {
      const v = o[k];
      if (v !== undefined && typeof v !== "string") fail(`registry[${i}].${k} must be a string`);
      return (v as string | undefined) ?? "";
    };
    const location = str("location");
    const prefix = str("prefix") || location;
    if (prefix === "") fail(`registry[${i}] needs prefix or location`);
    const mirrors = ((o.mirror ?? []) as unknown[]).map((m, j) => {
      const mo = m as Record<string, unknown>;
      if (typeof mo.location !== "string" || mo.location === "")
        fail(`registry[${i}].mirror[${j}] needs a location`);
      return { location: mo.location, insecure: mo.insecure === true };
    });
    return {
      prefix,
      location,
      insecure: o.insecure === true,
      blocked: o.blocked === true,
      mirrors,
    };
  });
  return { unqualifiedSearch: usr as string[], rules };
}

function prefixMatches(prefix: string, whole: string, registry: string): boolean {
  if (prefix.startsWith("*.")) {
    const host = registry.split(":")[0]!;
    return host.endsWith(prefix.slice(1)) && whole.startsWith(registry);
  }
  if (!whole.startsWith(prefix)) return false;
  const next = whole[prefix.length];
  return next === undefined || next === ":" || next === "/" || next === "@";
}

function matchLength(rule: RegistryRule, whole: string, registry: string): number {
  if (!prefixMatches(rule.prefix, whole, registry)) return -1;
  return rule.prefix.startsWith("*.") ? registry.length : rule.prefix.length;
}

/** The ordered pull tasks for a reference; ERR_OCI_BLOCKED when every candidate is blocked. */
export function pullTasks(conf: RegistriesConf, ref: ImageReference): PullTask[] {
  let candidates: ImageReference[] = [ref];
  if (ref.registry === "docker.io") {
    const sel = ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? "latest"}`;
    candidates = conf.unqualifiedSearch.map((r) =>
      r === "docker.io"
        ? ref
        : parseReference(`${r}/${ref.repository.replace(/^library\//, "")}${sel}`),
    );
  }
  const tasks: PullTask[] = [];
  for (const c of candidates) {
    const whole = formatReference(c);
    let best: RegistryRule | undefined;
    let bestLen = -1;
    for (const r of conf.rules) {
      const n = matchLength(r, whole, c.registry);
      if (n > bestLen) {
        best = r;
        bestLen = n;
      }
    }
    if (best === undefined) {
      tasks.push({ reference: c, insecure: false, kind: "original" });
      continue;
    }
    if (best.blocked) continue;
    const rest = best.prefix.startsWith("*.")
      ? whole.slice(c.registry.length)
      : whole.slice(best.prefix.length);
    for (const m of best.mirrors)
      tasks.push({
        reference: parseReference(m.location + rest),
        insecure: m.insecure,
        kind: "mirror",
      });
    if (best.location !== "" && best.location !== best.prefix) {
      tasks.push({
        reference: parseReference(best.location + rest),
        insecure: best.insecure,
        kind: "remap",
      });
    } else tasks.push({ reference: c, insecure: best.insecure, kind: "original" });
  }
  if (tasks.length === 0)
    throw new OciError(
      "ERR_OCI_BLOCKED",
      `image ${formatReference(ref)} is blocked by registry rule`,
    );
  return tasks;
}
