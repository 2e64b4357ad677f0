import type { RawRow } from "./engine.js";
import type { RegoError } from "./errors.js";
import { toJsonText } from "./value/json.js";
import { ObjectValue, type Value } from "./value/value.js";

/** OPA's `--format json` text for query results (`{}` when undefined), exact for big numbers. */
export function renderQueryResults(raw: {
  rows: RawRow[];
  texts: { text: string; location: { row: number; col: number } }[];
}): string {
  if (raw.rows.length === 0) return "{}";
  // Keys in OPA's order (expressions, bindings; value, text, location); values sorted as OPA.
  const val = (v: Value, indent: string) => toJsonText(v, "  ").replace(/\n/g, `\n${indent}`);
  const rows = raw.rows.map((r) => {
    const exprs = r.expressions.map((v, i) => {
      const t = raw.texts[i]!;
      return [
        "        {",
        `          "value": ${val(v, "          ")},`,
        `          "text": ${JSON.stringify(t.text)},`,
        '          "location": {',
        `            "row": ${t.location.row},`,
        `            "col": ${t.location.col}`,
        "          }",
        "        }",
      ].join("\n");
    });
    const parts = [`      "expressions": [\n${exprs.join(",\n")}\n      ]`];
    if (r.bindings.size > 0) {
      const b = new ObjectValue();
      for (const [k, v] of r.bindings) b.set(k, v);
      parts.push(`      "bindings": ${val(b, "      ")}`);
    }
    return `    {\n${parts.join(",\n")}\n    }`;
  });
  return goEscape(`{\n  "result": [\n${rows.join(",\n")}\n  ]\n}`);
}

/** `file:line:col: message`, then the source line and a caret under the column. */
export function renderRegoError(err: RegoError, sources: ReadonlyMap<string, string>): string {
  const loc = err.location;
  if (!loc) return `${err.opaCode}: ${err.detail}`;
  const head = `${loc.file}:${loc.line}:${loc.col}: ${err.opaCode}: ${err.detail}`;
  const line = sources.get(loc.file)?.split("\n")[loc.line - 1];
  if (line === undefined) return head;
  const pad = line.slice(0, Math.max(0, loc.col - 1)).replace(/[^\t]/g, " ");
  return `${head}\n\t${line}\n\t${pad}^`;
}

/**
 * Go's encoding/json escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings (HTML-safe
 * output), and `opa eval` prints that. In JSON text these characters only occur inside strings,
 * so a global replacement is exact.
 */
function goEscape(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
