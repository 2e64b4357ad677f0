import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Engine } from "../engine.js";
import { RegoError } from "../errors.js";
import { parseJsonValue, toJsonText } from "../value/json.js";
import { compare, equal, ObjectValue, SetValue, type Value } from "../value/value.js";

/** Outcome of one conformance case. */
export interface CaseResult {
  /** `<file relative to suite>#<index>`: unique and stable. */
  id: string;
  folder: string;
  note: string;
  /** Passes with OPA's comparison (error code equal, error text a substring). */
  strict: boolean;
  /** Passes when any error counts where one is expected (regorus's rule). */
  lenient: boolean;
  /** Why it failed, for the report. */
  reason?: string;
}

/** Budget per case so a runaway case cannot stall the suite. */
const CASE_LIMITS = { maxSteps: 2_000_000, maxDepth: 300, maxMillis: 10_000 };

/** Lists the suite's JSON files under `dir` (sorted). */
export function suiteFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Runs every case of the suite in `dir` (optionally only folders matching `filter`). */
export function runSuite(dir: string, filter?: (folder: string) => boolean): CaseResult[] {
  const results: CaseResult[] = [];
  for (const file of suiteFiles(dir)) {
    const rel = relative(dir, file);
    const folder = rel.split("/")[0]!;
    if (filter && !filter(folder)) continue;
    const doc = parseJsonValue(readFileSync(file, "utf8"), 10_000);
    const cases = doc instanceof ObjectValue ? doc.get("cases") : undefined;
    if (!Array.isArray(cases)) continue;
    cases.forEach((c, i) => {
      results.push(runCase(c as ObjectValue, `${rel}#${i}`, folder));
    });
  }
  return results;
}

function str(o: ObjectValue, k: string): string | undefined {
  const v = o.get(k);
  return typeof v === "string" ? v : undefined;
}

/** Runs one case as OPA's topdown test runner does (see ../shared/conformance/README.md). */
export function runCase(c: ObjectValue, id: string, folder: string): CaseResult {
  const note = str(c, "note") ?? id;
  const wantError = str(c, "want_error");
  const wantCode = str(c, "want_error_code");
  const wantResult = c.get("want_result");
  const base = { id, folder, note };
  const fail = (reason: string, lenient = false): CaseResult => ({
    ...base,
    strict: false,
    lenient,
    reason,
  });
  let rows: Value;
  try {
    const e = new Engine();
    e.setStrictBuiltinErrors(c.get("strict_error") === true);
    e.setLimits(CASE_LIMITS);
    const mods = c.get("modules");
    if (Array.isArray(mods)) {
      mods.forEach((m, i) => {
        e.addPolicy(`test-${i}.rego`, m as string);
      });
    }
    const data = c.get("data");
    if (data instanceof ObjectValue) e.addData(data);
    const inputTerm = str(c, "input_term");
    if (inputTerm !== undefined) {
      const r = new Engine().evalQueryRaw(`__x := ${inputTerm}`);
      e.setInputValue(r.rows[0]?.bindings.get("__x"));
    } else if (c.has("input")) {
      e.setInputValue(c.get("input"));
    }
    const q = e.evalQueryRaw(str(c, "query") ?? "");
    const sort = c.get("sort_bindings") === true;
    rows = SetValue.of(
      q.rows.map((r) => {
        const o = new ObjectValue();
        for (const [k, v] of r.bindings) {
          if (k.startsWith("__")) continue;
          let j = jsonish(v);
          if (sort && Array.isArray(j)) j = Object.freeze([...j].sort(compare));
          o.set(k, j);
        }
        return o;
      }),
    );
  } catch (err) {
    if (!(err instanceof RegoError)) {
      return fail(`crash: ${(err as Error)?.stack ?? err}`);
    }
    if (wantError === undefined && wantCode === undefined) {
      return fail(`unexpected error: ${err.message}`);
    }
    const codeOk = wantCode === undefined || err.opaCode === wantCode;
    const textOk = wantError === undefined || err.message.includes(wantError);
    if (codeOk && textOk) return { ...base, strict: true, lenient: true };
    return fail(
      `error mismatch: got ${err.opaCode} "${err.message}", want ${wantCode ?? "-"} "${wantError ?? ""}"`,
      true,
    );
  }
  if (wantError !== undefined || wantCode !== undefined) {
    return fail(`expected error ${wantCode ?? ""} ${wantError ?? ""}, got ${toJsonText(rows)}`);
  }
  if (!Array.isArray(wantResult)) return fail("case has no expectation");
  const want = SetValue.of(wantResult.map((r) => jsonish(r as Value)));
  if (equal(want, rows)) return { ...base, strict: true, lenient: true };
  return fail(`got ${toJsonText(rows)}, want ${toJsonText(want)}`);
}

/** A value as OPA's ast.JSON round-trip leaves it: sets become sorted arrays, keys strings. */
function jsonish(v: Value): Value {
  if (Array.isArray(v)) return Object.freeze(v.map(jsonish));
  if (v instanceof SetValue) return Object.freeze(v.sorted().map(jsonish));
  if (v instanceof ObjectValue) {
    const o = new ObjectValue();
    for (const [k, e] of v.entries.values()) {
      o.set(typeof k === "string" ? k : toJsonText(k), jsonish(e));
    }
    return o;
  }
  return v;
}

/** Pass counts per folder. */
export function summarizeResults(
  results: readonly CaseResult[],
): Map<string, { total: number; strict: number; lenient: number }> {
  const m = new Map<string, { total: number; strict: number; lenient: number }>();
  for (const r of results) {
    const s = m.get(r.folder) ?? { total: 0, strict: 0, lenient: 0 };
    s.total++;
    if (r.strict) s.strict++;
    if (r.lenient) s.lenient++;
    m.set(r.folder, s);
  }
  return m;
}
