import { isNumber, normBig, type Value } from "../value/value.js";
import { argInt, argString, builtinError, operandError } from "./args.js";
import {
  addDate,
  civil,
  daysIn,
  formatTime,
  fromUnixNano,
  type GoTime,
  parseDuration,
  parseTime,
  TimeParseError,
  UTC_ZONE,
  unixNano,
  weekdayName,
  type Zone,
} from "./gotime.js";
import type { BuiltinContext, BuiltinTable } from "./types.js";

const MIN_NS = -(1n << 63n);
const MAX_NS = (1n << 63n) - 1n;

/** Go's layout constants that `time.format`/`time.parse_ns` accept by name. */
const LAYOUTS: Record<string, string> = {
  ANSIC: "Mon Jan _2 15:04:05 2006",
  UnixDate: "Mon Jan _2 15:04:05 MST 2006",
  RubyDate: "Mon Jan 02 15:04:05 -0700 2006",
  RFC822: "02 Jan 06 15:04 MST",
  RFC822Z: "02 Jan 06 15:04 -0700",
  RFC850: "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123: "Mon, 02 Jan 2006 15:04:05 MST",
  RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700",
  RFC3339: "2006-01-02T15:04:05Z07:00",
  RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00",
};

// JS Date range, used to clamp zone lookups far outside any real time-zone rule.
const MAX_JS_SEC = 8_640_000_000_000n;

/** An IANA zone through Intl (Node ships full ICU); throws Go's "unknown time zone" text. */
// ICU knows a zone's abbreviation only in locales where it is in use (CET in en-GB, IST in
// en-IN, AEDT in en-AU); tzdata's numeric ones ("+0545", "-03") are the fallback, as in Go.
const ABBREV_LOCALES = ["en-US", "en-GB", "en-IN", "en-AU", "en-CA"];

function numericAbbrev(offset: number): string {
  const a = Math.abs(offset);
  const hh = String(Math.floor(a / 3600)).padStart(2, "0");
  const mm = Math.floor(a / 60) % 60;
  return `${offset < 0 ? "-" : "+"}${hh}${mm ? String(mm).padStart(2, "0") : ""}`;
}

function ianaZone(name: string): Zone {
  let offsetFmt: Intl.DateTimeFormat;
  let nameFmts: Intl.DateTimeFormat[];
  try {
    offsetFmt = new Intl.DateTimeFormat("en-US", { timeZone: name, timeZoneName: "longOffset" });
    nameFmts = ABBREV_LOCALES.map(
      (l) => new Intl.DateTimeFormat(l, { timeZone: name, timeZoneName: "short" }),
    );
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
  const part = (f: Intl.DateTimeFormat, d: Date) =>
    f.formatToParts(d).find((p) => p.type === "timeZoneName")?.value ?? "";
  return {
    name,
    lookup(unixSec) {
      const s = unixSec > MAX_JS_SEC ? MAX_JS_SEC : unixSec < -MAX_JS_SEC ? -MAX_JS_SEC : unixSec;
      const d = new Date(Number(s) * 1000);
      const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(part(offsetFmt, d));
      let offset = 0;
      if (m?.[1]) {
        offset = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
        if (m[1] === "-") offset = -offset;
      }
      let abbrev = "";
      for (const f of nameFmts) {
        const a = part(f, d);
        if (a !== "" && !/^(?:GMT|UTC)[+-]/.test(a)) {
          abbrev = a;
          break;
        }
      }
      return { offset, abbrev: abbrev || numericAbbrev(offset) };
    },
  };
}

function zoneFor(name: string, ctx: BuiltinContext): Zone {
  if (name === "" || name === "UTC") return UTC_ZONE;
  const key = `tz:${name}`;
  const hit = ctx.cache.get(key);
  if (hit) return hit as Zone;
  // "Local" is the host's zone, as Go's time.Local.
  const z = ianaZone(name === "Local" ? Intl.DateTimeFormat().resolvedOptions().timeZone : name);
  ctx.cache.set(key, z);
  return z;
}

/** Upstream's `tzTime`: `ns` or `[ns, tz]` or `[ns, tz, layout]`. */
function tzTime(name: string, a: Value, ctx: BuiltinContext): { t: GoTime; layout: string } {
  const want = "either number (ns) or [number (ns), string (tz)]";
  let n: Value;
  let zone = UTC_ZONE;
  let layout = "";
  if (Array.isArray(a)) {
    if (a.length === 0) throw operandError(name, 1, want, a);
    n = a[0] as Value;
    if (!isNumber(n)) throw operandError(name, 1, "number", n);
    if (a.length > 1) {
      const tz = a[1] as Value;
      if (typeof tz !== "string") throw operandError(name, 1, "string", tz);
      try {
        zone = zoneFor(tz, ctx);
      } catch (e) {
        throw builtinError(name, (e as Error).message);
      }
    }
    if (a.length > 2) {
      const l = a[2] as Value;
      if (typeof l !== "string") throw operandError(name, 1, "string", l);
      layout = l;
    }
  } else if (isNumber(a)) n = a;
  else throw operandError(name, 1, want, a);
  const num = n as number | bigint;
  let ns: bigint;
  if (typeof num === "bigint") ns = num;
  else if (Number.isInteger(num)) ns = BigInt(num);
  else throw builtinError(name, "timestamp too big");
  // Upstream converts through big.Float.Int64: anything outside int64 is "too big".
  if (ns < MIN_NS || ns > MAX_NS) throw builtinError(name, "timestamp too big");
  return { t: fromUnixNano(ns, zone), layout };
}

/** Upstream's `toSafeUnixNano`: the result must fit in an int64 of nanoseconds. */
function safeNano(name: string, t: GoTime): Value {
  const ns = unixNano(t);
  if (ns < MIN_NS || ns > MAX_NS) throw builtinError(name, "time outside of valid range");
  return normBig(ns);
}

function parsing<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TimeParseError) throw builtinError(name, e.message);
    throw e;
  }
}

/** Go's `time.Time.Sub`-free calendar difference (upstream's port of icza/gox). */
function diff(a: GoTime, b: GoTime): Value[] {
  if (a.zone.name !== b.zone.name) b = { ...b, zone: a.zone };
  if (unixNano(a) > unixNano(b)) [a, b] = [b, a];
  const c1 = civil(a);
  const c2 = civil(b);
  let year = c2.year - c1.year;
  let month = c2.month - c1.month;
  let day = c2.day - c1.day;
  let hour = c2.hour - c1.hour;
  let min = c2.min - c1.min;
  let sec = c2.sec - c1.sec;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    day += daysIn(c1.month, c1.year);
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}

/** `time.*` builtins with Go's layouts, zones (IANA via Intl) and error texts. */
export const timeBuiltins: BuiltinTable = {
  "time.now_ns": { arity: 0, nondeterministic: true, fn: (_args, ctx) => normBig(ctx.nowNs) },
  "time.parse_ns": {
    arity: 2,
    fn: (args) => {
      const name = "time.parse_ns";
      const layout = argString(name, args, 0);
      const value = argString(name, args, 1);
      const t = parsing(name, () => parseTime(LAYOUTS[layout] ?? layout, value));
      return safeNano(name, t);
    },
  },
  "time.parse_rfc3339_ns": {
    arity: 1,
    fn: (args) => {
      const name = "time.parse_rfc3339_ns";
      const value = argString(name, args, 0);
      return safeNano(
        name,
        parsing(name, () => parseTime(LAYOUTS.RFC3339 as string, value)),
      );
    },
  },
  "time.parse_duration_ns": {
    arity: 1,
    fn: (args) => {
      const name = "time.parse_duration_ns";
      const s = argString(name, args, 0);
      return normBig(parsing(name, () => parseDuration(s)));
    },
  },
  "time.format": {
    arity: 1,
    fn: ([a], ctx) => {
      const { t, layout } = tzTime("time.format", a as Value, ctx);
      const l = layout === "" ? (LAYOUTS.RFC3339Nano as string) : (LAYOUTS[layout] ?? layout);
      return formatTime(t, l);
    },
  },
  "time.date": {
    arity: 1,
    fn: ([a], ctx) => {
      const c = civil(tzTime("time.date", a as Value, ctx).t);
      return [c.year, c.month, c.day];
    },
  },
  "time.clock": {
    arity: 1,
    fn: ([a], ctx) => {
      const c = civil(tzTime("time.clock", a as Value, ctx).t);
      return [c.hour, c.min, c.sec];
    },
  },
  "time.weekday": {
    arity: 1,
    fn: ([a], ctx) => weekdayName(civil(tzTime("time.weekday", a as Value, ctx).t).weekday),
  },
  "time.add_date": {
    arity: 4,
    fn: (args, ctx) => {
      const name = "time.add_date";
      const { t } = tzTime(name, args[0] as Value, ctx);
      const y = argInt(name, args, 1);
      const m = argInt(name, args, 2);
      const d = argInt(name, args, 3);
      const r = addDate(t, y, m, d);
      return safeNano(name, r);
    },
  },
  "time.diff": {
    arity: 2,
    fn: ([a, b], ctx) => {
      const t1 = tzTime("time.diff", a as Value, ctx).t;
      const t2 = tzTime("time.diff", b as Value, ctx).t;
      return diff(t1, t2);
    },
  },
};
