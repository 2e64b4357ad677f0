/**
 * The parts of Go's `time` package that Rego's `time.*` builtins expose: reference-time
 * layouts (`2006-01-02T15:04:05Z07:00`) for parsing and formatting, `ParseDuration`, and
 * proleptic Gregorian civil-date arithmetic. Error texts are Go's, since OPA returns them.
 * Time zones are supplied by the caller as a {@link Zone} (see ./time.ts).
 */

/** A time zone: offset (seconds east of UTC) and abbreviation at a given instant. */
export interface Zone {
  readonly name: string;
  lookup(unixSec: bigint): { offset: number; abbrev: string };
}

/** UTC. */
export const UTC_ZONE: Zone = { name: "UTC", lookup: () => ({ offset: 0, abbrev: "UTC" }) };

/** A fixed-offset zone, as Go's `FixedZone`. */
export function fixedZone(abbrev: string, offset: number): Zone {
  return { name: abbrev, lookup: () => ({ offset, abbrev }) };
}

/** An instant: Unix seconds, nanoseconds within the second, and the zone it is shown in. */
export interface GoTime {
  readonly sec: bigint;
  readonly nsec: number;
  readonly zone: Zone;
}

/** Go's `time.Unix(0, ns).In(zone)`. */
export function fromUnixNano(ns: bigint, zone: Zone): GoTime {
  let sec = ns / 1_000_000_000n;
  let nsec = Number(ns % 1_000_000_000n);
  if (nsec < 0) {
    nsec += 1_000_000_000;
    sec -= 1n;
  }
  return { sec, nsec, zone };
}

/** Nanoseconds since the epoch. */
export function unixNano(t: GoTime): bigint {
  return t.sec * 1_000_000_000n + BigInt(t.nsec);
}

// ---- civil dates (Howard Hinnant's days_from_civil / civil_from_days) ----

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, may be normalised). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Year, month (1..12), day of a day count since the epoch. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? y + 1 : y, m, d];
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
/** Days in a month of a year. */
export function daysIn(m: number, y: number): number {
  if (m === 2 && isLeap(y)) return 29;
  return (DAYS_BEFORE[m] as number) - (DAYS_BEFORE[m - 1] as number);
}

/** Wall-clock fields of a time in its zone. */
export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  yday: number;
  weekday: number;
  offset: number;
  abbrev: string;
}

/** Go's `t.Date()`, `t.Clock()`, `t.Weekday()`, `t.YearDay()` and zone in one call. */
export function civil(t: GoTime): Civil {
  const { offset, abbrev } = t.zone.lookup(t.sec);
  const local = t.sec + BigInt(offset);
  let days = local / 86400n;
  let secs = Number(local % 86400n);
  if (secs < 0) {
    secs += 86400;
    days -= 1n;
  }
  const dn = Number(days);
  const [year, month, day] = civilFromDays(dn);
  const yday = dn - daysFromCivil(year, 1, 1) + 1;
  const weekday = (((dn + 4) % 7) + 7) % 7;
  return {
    year,
    month,
    day,
    hour: Math.floor(secs / 3600),
    min: Math.floor(secs / 60) % 60,
    sec: secs % 60,
    nsec: t.nsec,
    yday,
    weekday,
    offset,
    abbrev,
  };
}

/** Go's `time.Date(...)` in `zone`: fields are normalised (month 14 is next February). */
export function dateIn(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  nsec: number,
  zone: Zone,
): GoTime {
  // Normalise month into 1..12, then let the day count carry the rest.
  const m0 = month - 1;
  const y = year + Math.floor(m0 / 12);
  const m = (((m0 % 12) + 12) % 12) + 1;
  const days = daysFromCivil(y, m, 1) + (day - 1);
  let unix = BigInt(days) * 86400n + BigInt(hour) * 3600n + BigInt(min) * 60n + BigInt(sec);
  unix += BigInt(Math.floor(nsec / 1e9));
  const ns = ((nsec % 1e9) + 1e9) % 1e9;
  // Go: take the offset in effect at the wall time read as UTC; if the resulting instant is
  // in a different zone period, use that period's offset instead.
  const o1 = zone.lookup(unix).offset;
  let utc = unix - BigInt(o1);
  const o2 = zone.lookup(utc).offset;
  if (o2 !== o1) utc = unix - BigInt(o2);
  return { sec: utc, nsec: ns, zone };
}

/** Go's `t.AddDate(y, m, d)`. */
export function addDate(t: GoTime, years: number, months: number, days: number): GoTime {
  const c = civil(t);
  return dateIn(
    c.year + years,
    c.month + months,
    c.day + days,
    c.hour,
    c.min,
    c.sec,
    c.nsec,
    t.zone,
  );
}

// ---- layouts ----

const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const SHORT_DAYS = LONG_DAYS.map((d) => d.slice(0, 3));
const LONG_MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const SHORT_MONTHS = LONG_MONTHS.map((m) => m.slice(0, 3));

/** Weekday name as Go's `Weekday.String()`. */
export function weekdayName(d: number): string {
  return LONG_DAYS[d] as string;
}

type Std =
  | "LongMonth"
  | "Month"
  | "NumMonth"
  | "ZeroMonth"
  | "LongWeekDay"
  | "WeekDay"
  | "Day"
  | "UnderDay"
  | "ZeroDay"
  | "UnderYearDay"
  | "ZeroYearDay"
  | "Hour"
  | "Hour12"
  | "ZeroHour12"
  | "Minute"
  | "ZeroMinute"
  | "Second"
  | "ZeroSecond"
  | "LongYear"
  | "Year"
  | "PM"
  | "pm"
  | "TZ"
  | "ISO8601TZ"
  | "ISO8601SecondsTZ"
  | "ISO8601ShortTZ"
  | "ISO8601ColonTZ"
  | "ISO8601ColonSecondsTZ"
  | "NumTZ"
  | "NumSecondsTz"
  | "NumShortTZ"
  | "NumColonTZ"
  | "NumColonSecondsTZ"
  | "FracSecond0"
  | "FracSecond9";

interface Chunk {
  prefix: string;
  std?: Std;
  /** Fractional seconds: number of digits and separator. */
  digits?: number;
  sep?: string;
  suffix: string;
}

const ZERO_X: Record<string, Std> = {
  "1": "ZeroMonth",
  "2": "ZeroDay",
  "3": "ZeroHour12",
  "4": "ZeroMinute",
  "5": "ZeroSecond",
  "6": "Year",
};

const startsLower = (s: string) => s.length > 0 && s[0]! >= "a" && s[0]! <= "z";
const isDigitAt = (s: string, i: number) => i < s.length && s[i]! >= "0" && s[i]! <= "9";

/** Go's `nextStdChunk`: the literal prefix, the first layout element, and the rest. */
function nextChunk(layout: string): Chunk {
  const at = (i: number, n: number, std: Std): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    suffix: layout.slice(i + n),
  });
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const has = (s: string) => layout.startsWith(s, i);
    switch (c) {
      case "J":
        if (has("Jan")) {
          if (has("January")) return at(i, 7, "LongMonth");
          if (!startsLower(layout.slice(i + 3))) return at(i, 3, "Month");
        }
        break;
      case "M":
        if (has("Mon")) {
          if (has("Monday")) return at(i, 6, "LongWeekDay");
          if (!startsLower(layout.slice(i + 3))) return at(i, 3, "WeekDay");
        }
        if (has("MST")) return at(i, 3, "TZ");
        break;
      case "0": {
        const n = layout[i + 1];
        if (n !== undefined && n >= "1" && n <= "6") return at(i, 2, ZERO_X[n] as Std);
        if (has("002")) return at(i, 3, "ZeroYearDay");
        break;
      }
      case "1":
        if (has("15")) return at(i, 2, "Hour");
        return at(i, 1, "NumMonth");
      case "2":
        if (has("2006")) return at(i, 4, "LongYear");
        return at(i, 1, "Day");
      case "_":
        if (layout[i + 1] === "2") {
          if (layout.startsWith("2006", i + 1)) {
            return { prefix: layout.slice(0, i + 1), std: "LongYear", suffix: layout.slice(i + 5) };
          }
          return at(i, 2, "UnderDay");
        }
        if (has("__2")) return at(i, 3, "UnderYearDay");
        break;
      case "3":
        return at(i, 1, "Hour12");
      case "4":
        return at(i, 1, "Minute");
      case "5":
        return at(i, 1, "Second");
      case "P":
        if (has("PM")) return at(i, 2, "PM");
        break;
      case "p":
        if (has("pm")) return at(i, 2, "pm");
        break;
      case "-":
        if (has("-070000")) return at(i, 7, "NumSecondsTz");
        if (has("-07:00:00")) return at(i, 9, "NumColonSecondsTZ");
        if (has("-0700")) return at(i, 5, "NumTZ");
        if (has("-07:00")) return at(i, 6, "NumColonTZ");
        if (has("-07")) return at(i, 3, "NumShortTZ");
        break;
      case "Z":
        if (has("Z070000")) return at(i, 7, "ISO8601SecondsTZ");
        if (has("Z07:00:00")) return at(i, 9, "ISO8601ColonSecondsTZ");
        if (has("Z0700")) return at(i, 5, "ISO8601TZ");
        if (has("Z07:00")) return at(i, 6, "ISO8601ColonTZ");
        if (has("Z07")) return at(i, 3, "ISO8601ShortTZ");
        break;
      case ".":
      case ",": {
        const d = layout[i + 1];
        if (d === "0" || d === "9") {
          let j = i + 1;
          while (j < layout.length && layout[j] === d) j++;
          if (!isDigitAt(layout, j)) {
            return {
              prefix: layout.slice(0, i),
              std: d === "0" ? "FracSecond0" : "FracSecond9",
              digits: j - (i + 1),
              sep: c,
              suffix: layout.slice(j),
            };
          }
        }
        break;
      }
    }
  }
  return { prefix: layout, suffix: "" };
}

const pad = (n: number, w: number) => {
  const s = String(Math.abs(n)).padStart(w, "0");
  return n < 0 ? `-${s}` : s;
};

/** Go's `t.Format(layout)`. */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = "";
  let rest = layout;
  for (;;) {
    const ch = nextChunk(rest);
    out += ch.prefix;
    if (!ch.std) break;
    rest = ch.suffix;
    switch (ch.std) {
      case "Year":
        out += pad(((c.year % 100) + 100) % 100, 2);
        break;
      case "LongYear":
        out += pad(c.year, 4);
        break;
      case "Month":
        out += SHORT_MONTHS[c.month - 1];
        break;
      case "LongMonth":
        out += LONG_MONTHS[c.month - 1];
        break;
      case "NumMonth":
        out += String(c.month);
        break;
      case "ZeroMonth":
        out += pad(c.month, 2);
        break;
      case "WeekDay":
        out += SHORT_DAYS[c.weekday];
        break;
      case "LongWeekDay":
        out += LONG_DAYS[c.weekday];
        break;
      case "Day":
        out += String(c.day);
        break;
      case "UnderDay":
        out += c.day < 10 ? ` ${c.day}` : String(c.day);
        break;
      case "ZeroDay":
        out += pad(c.day, 2);
        break;
      case "UnderYearDay":
        out += String(c.yday).padStart(3, " ");
        break;
      case "ZeroYearDay":
        out += pad(c.yday, 3);
        break;
      case "Hour":
        out += pad(c.hour, 2);
        break;
      case "Hour12":
        out += String(c.hour % 12 === 0 ? 12 : c.hour % 12);
        break;
      case "ZeroHour12":
        out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
        break;
      case "Minute":
        out += String(c.min);
        break;
      case "ZeroMinute":
        out += pad(c.min, 2);
        break;
      case "Second":
        out += String(c.sec);
        break;
      case "ZeroSecond":
        out += pad(c.sec, 2);
        break;
      case "PM":
        out += c.hour >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += c.hour >= 12 ? "pm" : "am";
        break;
      case "TZ":
        if (c.abbrev) out += c.abbrev;
        else out += numZone(c.offset, "NumTZ");
        break;
      case "FracSecond0":
      case "FracSecond9":
        out += fraction(c.nsec, ch.digits ?? 0, ch.sep ?? ".", ch.std === "FracSecond9");
        break;
      default:
        if (c.offset === 0 && ch.std.startsWith("ISO8601")) out += "Z";
        else out += numZone(c.offset, ch.std);
    }
  }
  return out;
}

function numZone(offset: number, std: Std): string {
  let zone = Math.trunc(offset / 60);
  let abs = offset;
  let s = "+";
  if (zone < 0) {
    s = "-";
    zone = -zone;
    abs = -abs;
  }
  s += pad(Math.floor(zone / 60), 2);
  const colon = std.includes("Colon");
  if (colon) s += ":";
  if (!std.includes("Short")) s += pad(zone % 60, 2);
  if (std.includes("Seconds")) {
    if (colon) s += ":";
    s += pad(abs % 60, 2);
  }
  return s;
}

function fraction(nsec: number, n: number, sep: string, trim: boolean): string {
  if (trim && (n === 0 || nsec === 0)) return "";
  let s = sep + String(nsec).padStart(9, "0").slice(0, n);
  if (trim) {
    s = s.replace(/0+$/, "");
    if (s === sep) s = "";
  }
  return s;
}

// ---- parsing ----

/** Go's `time.ParseError` text. */
export class TimeParseError extends Error {}

const goQuote = (s: string) => JSON.stringify(s);

function parseErr(layout: string, value: string, le: string, ve: string, msg = ""): TimeParseError {
  if (msg) return new TimeParseError(`parsing time ${goQuote(value)}${msg}`);
  return new TimeParseError(
    `parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(ve)} as ${goQuote(le)}`,
  );
}

const cutspace = (s: string) => s.replace(/^ +/, "");

function skip(value: string, prefix: string): string | undefined {
  while (prefix.length > 0) {
    if (prefix[0] === " ") {
      if (value.length > 0 && value[0] !== " ") return undefined;
      prefix = cutspace(prefix);
      value = cutspace(value);
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) return undefined;
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return value;
}

/** Go's `getnum`: one or two digits (exactly two when `fixed`). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  if (!isDigitAt(s, 1)) {
    if (fixed) return undefined;
    return [Number(s[0]), s.slice(1)];
  }
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + Number(s[i]);
  if (i === 0 || (fixed && i !== 3)) return undefined;
  return [n, s.slice(i)];
}

function lookup(tab: string[], val: string): [number, string] | undefined {
  for (let i = 0; i < tab.length; i++) {
    const v = tab[i] as string;
    if (val.length >= v.length && val.slice(0, v.length).toLowerCase() === v.toLowerCase()) {
      return [i, val.slice(v.length)];
    }
  }
  return undefined;
}

/** Go's `atoi` on a short run (optional sign); undefined when not all digits. */
function atoi(s: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(s) ? Number(s) : undefined;
}

function parseNanoseconds(value: string, nbytes: number): number | undefined {
  if (value[0] !== "." && value[0] !== ",") return undefined;
  if (nbytes > 10) nbytes = 10;
  const ns = atoi(value.slice(1, nbytes));
  if (ns === undefined || ns < 0) return undefined;
  return ns * 10 ** (10 - nbytes);
}

/** Length of a zone abbreviation at the start of `value` (Go's `parseTimeZone`), or 0. */
function zoneAbbrevLength(value: string): number {
  if (value.length < 3) return 0;
  if (value.startsWith("ChST") || value.startsWith("MeST")) return 4;
  if (value.startsWith("GMT")) {
    const m = /^GMT([+-][0-9]{1,2})?/.exec(value);
    const off = m?.[1] ? Number(m[1]) : 0;
    return m?.[1] && off >= -23 && off <= 23 ? 3 + m[1].length : 3;
  }
  if (value[0] === "+" || value[0] === "-") {
    const m = /^[+-][0-9]{2}(?:[0-9]{2})?/.exec(value);
    return m ? m[0].length : 0;
  }
  let n = 0;
  while (n < 6 && n < value.length && value[n]! >= "A" && value[n]! <= "Z") n++;
  if (n === 5 && value[4] === "T") return 5;
  if (n === 4 && (value[3] === "T" || value.startsWith("WITA"))) return 4;
  if (n === 3) return 3;
  return 0;
}

/**
 * Go's `time.Parse(layout, value)` with UTC as both the default and the local zone; returns
 * the instant, or throws a {@link TimeParseError} with Go's text.
 */
export function parseTime(layout: string, value: string): GoTime {
  const alayout = layout;
  const avalue = value;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let utc = false;
  let zoneOffset: number | undefined;
  let zoneName = "";
  let amSet = false;
  let pmSet = false;
  for (;;) {
    const ch = nextChunk(layout);
    const stdstr = layout.slice(ch.prefix.length, layout.length - ch.suffix.length);
    const after = skip(value, ch.prefix);
    if (after === undefined) throw parseErr(alayout, avalue, ch.prefix, value);
    value = after;
    if (!ch.std) {
      if (value.length !== 0) {
        throw parseErr(alayout, avalue, "", value, `: extra text: ${goQuote(value)}`);
      }
      break;
    }
    layout = ch.suffix;
    const hold = value;
    let bad = false;
    let range = "";
    const num = (r: [number, string] | undefined): number => {
      if (!r) {
        bad = true;
        return 0;
      }
      value = r[1];
      return r[0];
    };
    switch (ch.std) {
      case "Year": {
        if (value.length < 2) {
          bad = true;
          break;
        }
        const y = atoi(value.slice(0, 2));
        value = value.slice(2);
        if (y === undefined) bad = true;
        else year = y >= 69 ? y + 1900 : y + 2000;
        break;
      }
      case "LongYear": {
        if (value.length < 4 || !isDigitAt(value, 0)) {
          bad = true;
          break;
        }
        const y = atoi(value.slice(0, 4));
        value = value.slice(4);
        if (y === undefined) bad = true;
        else year = y;
        break;
      }
      case "Month":
        month = num(lookup(SHORT_MONTHS, value)) + 1;
        break;
      case "LongMonth":
        month = num(lookup(LONG_MONTHS, value)) + 1;
        break;
      case "NumMonth":
      case "ZeroMonth":
        month = num(getnum(value, ch.std === "ZeroMonth"));
        if (!bad && (month <= 0 || month > 12)) range = "month";
        break;
      case "WeekDay":
        num(lookup(SHORT_DAYS, value));
        break;
      case "LongWeekDay":
        num(lookup(LONG_DAYS, value));
        break;
      case "Day":
      case "UnderDay":
      case "ZeroDay":
        if (ch.std === "UnderDay" && value[0] === " ") value = value.slice(1);
        day = num(getnum(value, ch.std === "ZeroDay"));
        break;
      case "UnderYearDay":
      case "ZeroYearDay":
        for (let i = 0; i < 2; i++) {
          if (ch.std === "UnderYearDay" && value[0] === " ") value = value.slice(1);
        }
        yday = num(getnum3(value, ch.std === "ZeroYearDay"));
        break;
      case "Hour":
        hour = num(getnum(value, false));
        if (hour < 0 || hour >= 24) range = "hour";
        break;
      case "Hour12":
      case "ZeroHour12":
        hour = num(getnum(value, ch.std === "ZeroHour12"));
        if (hour < 0 || hour > 12) range = "hour";
        break;
      case "Minute":
      case "ZeroMinute":
        min = num(getnum(value, ch.std === "ZeroMinute"));
        if (min < 0 || min >= 60) range = "minute";
        break;
      case "Second":
      case "ZeroSecond": {
        sec = num(getnum(value, ch.std === "ZeroSecond"));
        if (bad) break;
        if (sec < 0 || sec >= 60) {
          range = "second";
          break;
        }
        // A fractional second in the value but not in the layout is still accepted.
        if (value.length >= 2 && (value[0] === "." || value[0] === ",") && isDigitAt(value, 1)) {
          const next = nextChunk(layout).std;
          if (next === "FracSecond0" || next === "FracSecond9") break;
          let n = 2;
          while (n < value.length && isDigitAt(value, n)) n++;
          const ns = parseNanoseconds(value, n);
          if (ns === undefined) bad = true;
          else nsec = ns;
          value = value.slice(n);
        }
        break;
      }
      case "PM":
      case "pm": {
        if (value.length < 2) {
          bad = true;
          break;
        }
        const p = value.slice(0, 2);
        value = value.slice(2);
        const [pm, am] = ch.std === "PM" ? ["PM", "AM"] : ["pm", "am"];
        if (p === pm) pmSet = true;
        else if (p === am) amSet = true;
        else bad = true;
        break;
      }
      case "TZ": {
        if (value.startsWith("UTC")) {
          utc = true;
          value = value.slice(3);
          break;
        }
        const n = zoneAbbrevLength(value);
        if (n === 0) {
          bad = true;
          break;
        }
        zoneName = value.slice(0, n);
        value = value.slice(n);
        break;
      }
      case "FracSecond0": {
        const nd = 1 + (ch.digits ?? 0);
        if (value.length < nd) {
          bad = true;
          break;
        }
        const ns = parseNanoseconds(value, nd);
        if (ns === undefined) bad = true;
        else nsec = ns;
        value = value.slice(nd);
        break;
      }
      case "FracSecond9": {
        if (value.length < 2 || (value[0] !== "." && value[0] !== ",") || !isDigitAt(value, 1))
          break;
        let i = 0;
        while (i + 1 < value.length && isDigitAt(value, i + 1)) i++;
        const ns = parseNanoseconds(value, 1 + i);
        if (ns === undefined) bad = true;
        else nsec = ns;
        value = value.slice(1 + i);
        break;
      }
      default: {
        // Numeric zone offsets; the ISO 8601 forms also accept "Z".
        if (ch.std.startsWith("ISO8601") && value[0] === "Z") {
          value = value.slice(1);
          utc = true;
          break;
        }
        const colon = ch.std.includes("Colon");
        const secs = ch.std.includes("Seconds");
        const short = ch.std.includes("Short");
        const need = short ? 3 : colon ? (secs ? 9 : 6) : secs ? 7 : 5;
        if (value.length < need) {
          bad = true;
          break;
        }
        if (colon && (value[3] !== ":" || (secs && value[6] !== ":"))) {
          bad = true;
          break;
        }
        const sign = value[0];
        const hh = value.slice(1, 3);
        const mm = short ? "00" : colon ? value.slice(4, 6) : value.slice(3, 5);
        const ss = !secs ? "00" : colon ? value.slice(7, 9) : value.slice(5, 7);
        value = value.slice(need);
        const h = getnum(hh, true);
        const m = getnum(mm, true);
        const s = getnum(ss, true);
        if (!h || !m || !s) {
          bad = true;
          break;
        }
        if (h[0] > 24) range = "time zone offset hour";
        if (m[0] > 60) range = "time zone offset minute";
        if (s[0] > 60) range = "time zone offset second";
        let off = (h[0] * 60 + m[0]) * 60 + s[0];
        if (sign === "-") off = -off;
        else if (sign !== "+") bad = true;
        zoneOffset = off;
      }
    }
    if (range) throw parseErr(alayout, avalue, stdstr, value, `: ${range} out of range`);
    if (bad) throw parseErr(alayout, avalue, stdstr, hold);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365)
      throw parseErr(alayout, avalue, "", value, ": day-of-year out of range");
    if (m === 0) {
      m = Math.floor((yday - 1) / 31) + 1;
      if ((DAYS_BEFORE[m] as number) < yday) m++;
      d = yday - (DAYS_BEFORE[m - 1] as number);
    }
    if (month >= 0 && month !== m) {
      throw parseErr(alayout, avalue, "", value, ": day-of-year does not match month");
    }
    month = m;
    if (day >= 0 && day !== d) {
      throw parseErr(alayout, avalue, "", value, ": day-of-year does not match day");
    }
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) {
    throw parseErr(alayout, avalue, "", value, ": day out of range");
  }
  if (utc) return dateIn(year, month, day, hour, min, sec, nsec, UTC_ZONE);
  if (zoneOffset !== undefined) {
    const t = dateIn(year, month, day, hour, min, sec, nsec, UTC_ZONE);
    return { sec: t.sec - BigInt(zoneOffset), nsec: t.nsec, zone: fixedZone(zoneName, zoneOffset) };
  }
  if (zoneName !== "") {
    // Unknown abbreviation: Go records the name with offset 0 (GMT+h carries its hours).
    // Go only relabels the zone: the instant stays the wall time read as UTC.
    let off = 0;
    if (zoneName.length > 3 && zoneName.startsWith("GMT")) off = Number(zoneName.slice(3)) * 3600;
    const t = dateIn(year, month, day, hour, min, sec, nsec, UTC_ZONE);
    return { sec: t.sec, nsec: t.nsec, zone: fixedZone(zoneName, off) };
  }
  return dateIn(year, month, day, hour, min, sec, nsec, UTC_ZONE);
}

// ---- durations ----

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  "\u00b5s": 1000n,
  "\u03bcs": 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION = (1n << 63n) - 1n;

/** Go's `time.ParseDuration`: `1h30m`, `-1.5s`, `300ms`; throws Go's error text. */
export function parseDuration(orig: string): bigint {
  const invalid = () => new TimeParseError(`time: invalid duration ${goQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigitAt(s, 0))) throw invalid();
    const im = /^[0-9]*/.exec(s)![0];
    s = s.slice(im.length);
    let v = im === "" ? 0n : BigInt(im);
    if (v > 1n << 63n) throw invalid();
    let frac = "";
    let post = false;
    if (s[0] === ".") {
      s = s.slice(1);
      frac = /^[0-9]*/.exec(s)![0];
      s = s.slice(frac.length);
      post = frac.length > 0;
    }
    if (im === "" && !post) throw invalid();
    let i = 0;
    while (i < s.length && s[i] !== "." && !isDigitAt(s, i)) i++;
    if (i === 0) throw new TimeParseError(`time: missing unit in duration ${goQuote(orig)}`);
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNIT_NS[u];
    if (unit === undefined) {
      throw new TimeParseError(`time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    }
    if (v > (1n << 63n) / unit) throw invalid();
    v *= unit;
    if (frac !== "") {
      // Go scales the fraction in float64; do the same so results match bit for bit.
      const f = Number(frac.slice(0, 18));
      const scale = 10 ** Math.min(frac.length, 18);
      v += BigInt(Math.floor(f * (Number(unit) / scale)));
      if (v > 1n << 63n) throw invalid();
    }
    d += v;
    if (d > 1n << 63n) throw invalid();
  }
  if (neg) return -d;
  if (d > MAX_DURATION) throw invalid();
  return d;
}
