import { yamlBuiltins } from "../builtins/yaml.js";
import { type Location, RegoError } from "../errors.js";
import { ObjectValue, type Value } from "../value/value.js";

/** Parsed `# METADATA` annotations of one package or rule, normalised as OPA does. */
export function parseAnnotations(yaml: string, defaultScope: string, loc: Location): ObjectValue {
  let v: Value | undefined;
  try {
    v = yamlBuiltins["yaml.unmarshal"]!.fn([yaml], { strict: true, nowNs: 0n, cache: new Map() });
  } catch (e) {
    throw new RegoError("ERR_REGO_PARSE", `invalid METADATA block: ${(e as Error).message}`, {
      location: loc,
    });
  }
  const src = v instanceof ObjectValue ? v : new ObjectValue();
  const out = new ObjectValue();
  for (const [k, val] of src.sorted()) {
    if (k === "authors" && Array.isArray(val)) out.set(k, val.map(author));
    else if (k === "related_resources" && Array.isArray(val)) {
      out.set(
        k,
        val.map((r) => (typeof r === "string" ? ObjectValue.fromRecord({ ref: r }) : r)),
      );
    } else out.set(k, val);
  }
  if (!out.has("scope")) out.set("scope", defaultScope);
  return out;
}

/** `"Jane Doe <jane@example.com>"` → `{name, email}`, as OPA's annotation parser does. */
function author(a: Value): Value {
  if (typeof a !== "string") return a;
  const m = /^(.*?)\s*<([^<>]+)>\s*$/.exec(a.trim());
  if (m) {
    const o = new ObjectValue();
    if (m[1]) o.set("name", m[1]);
    o.set("email", m[2]!);
    return o;
  }
  return ObjectValue.fromRecord({ name: a.trim() });
}

/** Package- and document-scope annotations by path, for `rego.metadata.chain()`. */
export interface AnnotationIndex {
  packages: Map<string, ObjectValue>;
  documents: Map<string, ObjectValue>;
}

/** `rego.metadata.chain()` for a rule at `path` in package `pkg` with its own annotations. */
export function metadataChain(
  index: AnnotationIndex,
  pkg: string[],
  path: string[],
  own: ObjectValue | undefined,
): Value {
  const entry = (p: string[], a: ObjectValue | undefined) => {
    const o = new ObjectValue();
    o.set("path", Object.freeze([...p]));
    if (a) o.set("annotations", a);
    return o;
  };
  const chain: Value[] = [entry(path, own?.get("scope") === "rule" ? own : undefined)];
  const doc = index.documents.get(path.join("\u0000"));
  if (doc) chain.push(entry(path, doc));
  const p = index.packages.get(pkg.join("\u0000"));
  if (p) chain.push(entry(pkg, p));
  return Object.freeze(chain);
}
