import type { CLit, CRule, CTerm, RuleNode } from "./ir.js";

/**
 * What the result of evaluating compiled policies can depend on besides `data` and the host
 * functions, found by walking every rule once:
 * - `inputPaths`: the parts of `input` the policies read. Each path is the constant string
 *   prefix of an `input.a.b[...]` reference (the whole value below it may be read); undefined
 *   when `input` is read as a whole (bare `input`, a variable first key, `with input as`).
 * - `deterministic`: false when a builtin whose result depends on more than its arguments is
 *   called (the clock, randomness, the network: `time.now_ns`, token and certificate checks
 *   that read the time, token signing (ECDSA and RSA-PSS signatures are randomised), `rand.*`,
 *   `uuid.*`, `http.send`, `net.lookup_ip_addr`, `opa.runtime`), or a call could not be
 *   resolved.
 * Host functions are reported by name; their results are the caller's to account for.
 */
export interface PolicyDependencies {
  inputPaths: string[][] | undefined;
  deterministic: boolean;
  hostFunctions: string[];
}

/** Builtins (by name prefix) whose results depend on the time or the outside world. */
const IMPURE_PREFIXES = [
  "time.now_ns",
  "io.jwt.decode_verify",
  "io.jwt.encode_sign",
  "crypto.x509.parse_and_verify",
  "http.",
  "net.lookup",
  "opa.runtime",
  "rand.",
  "uuid.",
];

interface Acc {
  paths: string[][];
  whole: boolean;
  deterministic: boolean;
  host: Set<string>;
}

/** Analyses every rule below `root` (see {@link PolicyDependencies}). */
export function policyDependencies(root: RuleNode): PolicyDependencies {
  const acc: Acc = { paths: [], whole: false, deterministic: true, host: new Set() };
  const stack: RuleNode[] = [root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.rules) for (const d of [...n.rules.defs, ...n.rules.defaults]) scanRule(d, acc);
    for (const c of n.children.values()) stack.push(c);
  }
  return {
    inputPaths: acc.whole ? undefined : acc.paths,
    deterministic: acc.deterministic,
    hostFunctions: [...acc.host].sort(),
  };
}

function scanRule(d: CRule, acc: Acc): void {
  for (const a of d.args ?? []) scanTerm(a, acc);
  for (const k of d.keys) scanTerm(k, acc);
  if (d.value) scanTerm(d.value, acc);
  scanBody(d.body, acc);
  for (const e of d.elses) {
    if (e.value) scanTerm(e.value, acc);
    scanBody(e.body, acc);
  }
}

function scanBody(body: CLit[], acc: Acc): void {
  for (const l of body) {
    for (const w of l.withs) {
      // `with input... as` replaces what the rules below read: treat input as read whole.
      if (w.kind === "input") acc.whole = true;
      if (w.kind === "fn" && w.replacement !== undefined) scanTarget(w.replacement, acc);
      scanTerm(w.value, acc);
    }
    switch (l.k) {
      case "expr":
        scanTerm(l.e, acc);
        break;
      case "someIn":
        if (l.key) scanTerm(l.key, acc);
        scanTerm(l.value, acc);
        scanTerm(l.coll, acc);
        break;
      case "every":
        if (l.key) scanTerm(l.key, acc);
        scanTerm(l.value, acc);
        scanTerm(l.domain, acc);
        scanBody(l.body, acc);
        break;
    }
  }
}

function scanTarget(target: Extract<CTerm, { t: "call" }>["target"], acc: Acc): void {
  if (target.kind === "builtin") {
    const name = target.name;
    if (target.def.nondeterministic === true || IMPURE_PREFIXES.some((p) => name.startsWith(p))) {
      acc.deterministic = false;
    }
  } else if (target.kind === "host") {
    acc.host.add(target.name);
  } else if (target.kind === "unknown") {
    acc.deterministic = false;
  }
}

function scanTerm(t: CTerm, acc: Acc): void {
  switch (t.t) {
    case "const":
    case "local":
      return;
    case "input":
      // A bare `input` (not the head of a reference with a constant first key).
      acc.whole = true;
      return;
    case "data":
      for (const p of t.path) scanTerm(p, acc);
      return;
    case "ref": {
      let i = 0;
      if (t.head.t === "input") {
        const prefix: string[] = [];
        while (i < t.path.length) {
          const p = t.path[i]!;
          if (p.t !== "const" || typeof p.v !== "string") break;
          prefix.push(p.v);
          i++;
        }
        if (prefix.length === 0) acc.whole = true;
        else acc.paths.push(prefix);
      } else {
        scanTerm(t.head, acc);
      }
      for (; i < t.path.length; i++) scanTerm(t.path[i]!, acc);
      return;
    }
    case "array":
    case "set":
      for (const i of t.items) scanTerm(i, acc);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        scanTerm(k, acc);
        scanTerm(v, acc);
      }
      return;
    case "arrayCompr":
    case "setCompr":
      scanTerm(t.head, acc);
      scanBody(t.body, acc);
      return;
    case "objectCompr":
      scanTerm(t.key, acc);
      scanTerm(t.value, acc);
      scanBody(t.body, acc);
      return;
    case "call":
      scanTarget(t.target, acc);
      for (const a of t.args) scanTerm(a, acc);
      return;
    case "binary":
    case "assign":
      scanTerm(t.l, acc);
      scanTerm(t.r, acc);
      return;
    case "neg":
      scanTerm(t.operand, acc);
      return;
    case "in":
      if (t.key) scanTerm(t.key, acc);
      scanTerm(t.value, acc);
      scanTerm(t.coll, acc);
      return;
    case "template":
      for (const p of t.parts) if (typeof p !== "string") scanTerm(p, acc);
      return;
    default: {
      // A new term kind must be analysed before it can be trusted: assume the worst.
      acc.whole = true;
      acc.deterministic = false;
    }
  }
}
