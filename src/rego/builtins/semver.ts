import type { Value } from "../value/value.js";
import { argString, builtinError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** A parsed Semantic Version 2.0.0 (build metadata is ignored for ordering). */
interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string[];
}

// semver.org's recommended expression: no leading zeros in numeric identifiers.
const NUM = "(0|[1-9]\\d*)";
const PRE_ID = "(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)";
const SEMVER = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$`,
);

const INT64_MAX = (1n << 63n) - 1n;

/** Parses `MAJOR.MINOR.PATCH[-pre][+build]`; undefined when not valid SemVer. */
export function parseSemver(s: string): SemVer | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  const major = BigInt(m[1] as string);
  const minor = BigInt(m[2] as string);
  const patch = BigInt(m[3] as string);
  // Upstream parses the numbers as int64: larger ones make the version invalid.
  if (major > INT64_MAX || minor > INT64_MAX || patch > INT64_MAX) return undefined;
  return { major, minor, patch, pre: m[4] ? m[4].split(".") : [] };
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    let c: number;
    if (xn && yn) c = cmp(BigInt(x), BigInt(y));
    else if (xn !== yn) c = xn ? -1 : 1;
    else c = x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** SemVer precedence (§11): -1, 0 or 1. */
export function compareSemver(a: SemVer, b: SemVer): number {
  return (
    cmp(a.major, b.major) ||
    cmp(a.minor, b.minor) ||
    cmp(a.patch, b.patch) ||
    comparePre(a.pre, b.pre)
  );
}

function versionArg(args: readonly Value[], i: number): SemVer {
  const s = argString("semver.compare", args, i);
  const v = parseSemver(s);
  if (!v)
    throw builtinError(
      "semver.compare",
      `operand ${i + 1}: string ${JSON.stringify(s)} is not a valid SemVer`,
    );
  return v;
}

/** `semver.*` builtins. */
export const semverBuiltins: BuiltinTable = {
  "semver.is_valid": {
    arity: 1,
    fn: ([v]) => typeof v === "string" && parseSemver(v) !== undefined,
  },
  "semver.compare": {
    arity: 2,
    fn: (args) => compareSemver(versionArg(args, 0), versionArg(args, 1)),
  },
};
