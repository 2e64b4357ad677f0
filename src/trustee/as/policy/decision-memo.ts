/**
 * The pure parts of a policy evaluation, for `rego-engine.ts`: the input cut down to what the
 * policy reads, a key that identifies an evaluation's arguments exactly, and a bounded memo
 * of results. A result is reused only when everything it was computed from is the same: the
 * compiled policy (one memo per policy), the parts of `input` the policy reads, `data`, the
 * rules asked for, and the answer of every host function call the evaluation made (checked
 * again on each reuse); and only for policies whose builtins are all deterministic.
 */
import type { PolicyDependencies } from "../../../rego/index.js";

/** A path trie of the `input` parts a policy reads; `true` marks "everything below". */
type Trie = Map<string, Trie | true>;

/** Builds the trie of `paths` (undefined: the whole input is read). */
export function inputTrie(paths: PolicyDependencies["inputPaths"]): Trie | undefined {
  if (paths === undefined) return undefined;
  const root: Trie = new Map();
  for (const path of paths) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const k = path[i]!;
      const cur = node.get(k);
      if (cur === true) break;
      if (i === path.length - 1) {
        node.set(k, true);
        break;
      }
      if (cur === undefined) {
        const next: Trie = new Map();
        node.set(k, next);
        node = next;
      } else {
        node = cur;
      }
    }
  }
  return root;
}

/** Objects the Rego engine converts key by key (everything but arrays, sets and Rego values). */
function isKeyed(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Set);
}

const enumerable = Object.prototype.propertyIsEnumerable;

/**
 * `input` with only the parts in `trie`: what a policy that reads only those parts sees the
 * same as the whole. Values below a trie leaf are shared, not copied.
 */
export function projectInput(input: unknown, trie: Trie | undefined): unknown {
  if (trie === undefined || !isKeyed(input) || input.constructor !== Object) return input;
  return project(input, trie);
}

function project(v: Record<string, unknown>, trie: Trie): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, sub] of trie) {
    if (!enumerable.call(v, k)) continue;
    const e = v[k];
    if (e === undefined) continue;
    out[k] = sub === true || !isKeyed(e) || e.constructor !== Object ? e : project(e, sub);
  }
  return out;
}

/**
 * An exact text key of a JSON-ish value (null, booleans, finite numbers including -0, bigints,
 * strings, arrays, plain objects in key order), or undefined for anything else, or when it
 * grows past `max` characters: such evaluations are not memoised.
 */
export function exactKey(v: unknown, max = 16 * 1024): string | undefined {
  const parts: string[] = [];
  let size = 0;
  const walk = (x: unknown, depth: number): boolean => {
    if (depth > 64 || size > max) return false;
    let s: string;
    switch (typeof x) {
      case "string":
        s = JSON.stringify(x);
        break;
      case "number":
        if (!Number.isFinite(x)) return false;
        s = Object.is(x, -0) ? "-0" : String(x);
        break;
      case "bigint":
        s = `${x}n`;
        break;
      case "boolean":
        s = x ? "true" : "false";
        break;
      case "undefined":
        s = "~";
        break;
      case "object": {
        if (x === null) {
          s = "null";
          break;
        }
        if (Array.isArray(x)) {
          parts.push("[");
          for (const e of x) {
            if (!walk(e, depth + 1)) return false;
            parts.push(",");
          }
          parts.push("]");
          size += 2 + x.length;
          return true;
        }
        if (Object.getPrototypeOf(x) !== Object.prototype) return false;
        parts.push("{");
        for (const k of Object.keys(x)) {
          const e = (x as Record<string, unknown>)[k];
          if (e === undefined) continue;
          parts.push(JSON.stringify(k), ":");
          size += k.length + 3;
          if (!walk(e, depth + 1)) return false;
          parts.push(",");
        }
        parts.push("}");
        size += 2;
        return true;
      }
      default:
        return false;
    }
    size += s.length;
    parts.push(s);
    return size <= max;
  };
  return walk(v, 0) && size <= max ? parts.join("") : undefined;
}

/** One host function call an evaluation made, with its exact arguments and answer. */
export interface HostCall {
  name: string;
  args: unknown[];
  /** exactKey of the answer (undefined: not keyable, so the entry is never reused). */
  answer: string | undefined;
  /** The answer itself, for a cheap identity check first. */
  raw: unknown;
}

/** A remembered result. */
interface Entry {
  out: Record<string, unknown>;
  calls: HostCall[];
}

/** A bounded LRU of results keyed by {@link exactKey} texts. */
export interface DecisionMemo {
  get(
    key: string,
    call: (name: string, args: unknown[]) => unknown,
  ): Record<string, unknown> | undefined;
  set(key: string, out: Record<string, unknown>, calls: HostCall[]): void;
  readonly size: number;
}

/** Creates a memo of at most `max` results. */
export function createDecisionMemo(max = 256): DecisionMemo {
  const entries = new Map<string, Entry>();
  return {
    get(key, call) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      // The result depends on what the host functions answer now (reference values change).
      for (const c of e.calls) {
        const now = call(c.name, c.args);
        if (now !== c.raw && (c.answer === undefined || exactKey(now) !== c.answer)) {
          entries.delete(key);
          return undefined;
        }
      }
      entries.delete(key);
      entries.set(key, e);
      return e.out;
    },
    set(key, out, calls) {
      if (calls.some((c) => c.answer === undefined)) return;
      entries.delete(key);
      entries.set(key, { out: deepFreeze(out), calls });
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
  };
}

/** Freezes a result shared by later evaluations, so no caller can change it for the next. */
function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const e of Object.values(v)) deepFreeze(e);
  }
  return v;
}
