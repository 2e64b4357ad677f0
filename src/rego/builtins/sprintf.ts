import { formatValue } from "../value/format.js";
import { isNumber, numberText, type Value } from "../value/value.js";

/** Go's fmt.Sprintf for the verbs Rego policies use: %v %s %d %f %e %g %x %X %o %b %q %t %%. */
export function sprintf(format: string, args: readonly Value[]): string {
  let out = "";
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== "%") {
      out += c;
      continue;
    }
    const m = /^([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!m) {
      out += "%!(NOVERB)";
      break;
    }
    i += m[0].length;
    const flags = m[1] ?? "";
    const width = m[2] ? Number(m[2]) : undefined;
    const prec = m[3] !== undefined ? Number(m[3]) : undefined;
    const verb = m[4]!;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const v = args[ai++] as Value;
    out += pad(fmtOne(verb, v, flags, prec), width, flags);
  }
  if (ai < args.length) {
    out += `%!(EXTRA ${args
      .slice(ai)
      .map((a) => `${goType(a as Value)}=${plain(a as Value)}`)
      .join(", ")})`;
  }
  return out;
}

function goType(v: Value): string {
  if (typeof v === "string") return "string";
  if (isNumber(v)) return "json.Number";
  if (typeof v === "boolean") return "bool";
  return "ast.Value";
}

function plain(v: Value): string {
  return typeof v === "string" ? v : formatValue(v);
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes("-")) return s + " ".repeat(width - s.length);
  if (flags.includes("0") && /^[-+]?[0-9]/.test(s)) {
    const sign = /^[-+]/.test(s) ? s[0]! : "";
    return sign + "0".repeat(width - s.length) + s.slice(sign.length);
  }
  return " ".repeat(width - s.length) + s;
}

function fmtOne(verb: string, v: Value, flags: string, prec: number | undefined): string {
  switch (verb) {
    case "v":
    case "s":
      if (typeof v === "string") return prec !== undefined && verb === "s" ? v.slice(0, prec) : v;
      return plain(v);
    case "q":
      return typeof v === "string" ? JSON.stringify(v) : `%!q(${plain(v)})`;
    case "t":
      return typeof v === "boolean" ? String(v) : `%!t(${plain(v)})`;
    case "d": {
      if (!isNumber(v)) return `%!d(${goType(v)}=${plain(v)})`;
      if (typeof v === "number" && !Number.isInteger(v)) return `%!d(json.Number=${numberText(v)})`;
      const s = BigInt(v).toString();
      return flags.includes("+") && !s.startsWith("-") ? `+${s}` : s;
    }
    case "f":
    case "F": {
      if (!isNumber(v)) return `%!f(${goType(v)}=${plain(v)})`;
      const s = Number(v).toFixed(prec ?? 6);
      return flags.includes("+") && !s.startsWith("-") ? `+${s}` : s;
    }
    case "e":
    case "E": {
      if (!isNumber(v)) return `%!e(${goType(v)}=${plain(v)})`;
      const s = Number(v)
        .toExponential(prec ?? 6)
        .replace(/e([+-])(\d)$/, "e$10$2");
      return verb === "E" ? s.toUpperCase() : s;
    }
    case "g":
    case "G": {
      if (!isNumber(v)) return `%!g(${goType(v)}=${plain(v)})`;
      return prec !== undefined ? String(Number(Number(v).toPrecision(prec))) : numberText(v);
    }
    case "x":
    case "X":
    case "o":
    case "b": {
      const base = verb === "o" ? 8 : verb === "b" ? 2 : 16;
      let s: string;
      if (typeof v === "string" && base === 16) {
        s = Buffer.from(v, "utf8").toString("hex");
      } else if (isNumber(v) && (typeof v === "bigint" || Number.isInteger(v))) {
        s = BigInt(v).toString(base);
      } else return `%!${verb}(${plain(v)})`;
      return verb === "X" ? s.toUpperCase() : s;
    }
    default:
      return `%!${verb}(${plain(v)})`;
  }
}
