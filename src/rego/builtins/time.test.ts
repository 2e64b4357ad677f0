import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import type { Value } from "../value/value.js";
import {
  civilFromDays,
  daysFromCivil,
  formatTime,
  fromUnixNano,
  parseDuration,
  parseTime,
  UTC_ZONE,
} from "./gotime.js";
import { timeBuiltins } from "./time.js";
import type { BuiltinContext } from "./types.js";

const ctx = (): BuiltinContext => ({
  strict: true,
  nowNs: 1_700_000_000_123_456_789n,
  cache: new Map(),
});
const call = (name: string, ...args: Value[]) => timeBuiltins[name]!.fn(args, ctx());
const fails = (name: string, code: string, text: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === code && e.message.includes(text),
  );

describe("Go time layer", () => {
  it("civil date conversion round-trips across centuries", () => {
    for (let d = -800_000; d <= 800_000; d += 997) {
      const [y, m, day] = civilFromDays(d);
      assert.equal(daysFromCivil(y, m, day), d);
    }
    assert.deepEqual(civilFromDays(0), [1970, 1, 1]);
    assert.deepEqual(civilFromDays(daysFromCivil(2000, 2, 29)), [2000, 2, 29]);
  });

  it("parses and formats the reference layouts", () => {
    const t = parseTime("2006-01-02T15:04:05Z07:00", "2017-06-02T19:00:00-07:00");
    assert.equal(t.sec, 1496455200n);
    assert.equal(
      formatTime(
        fromUnixNano(1670006453141828752n, UTC_ZONE),
        "Mon Jan _2 3:04:05.000 PM 2006 (002)",
      ),
      "Fri Dec  2 6:40:53.141 PM 2022 (336)",
    );
    assert.equal(parseTime("Jan 2 06 3PM", "feb 29 20 12AM").sec, 1582934400n);
    assert.equal(parseTime("2006-01-02 15:04:05", "2020-01-01 00:00:00.5").nsec, 500_000_000);
  });

  it("reports Go's parse errors", () => {
    assert.throws(
      () => parseTime("2006-01-02", "2006-13-01"),
      /parsing time "2006-13-01": month out of range/,
    );
    assert.throws(() => parseTime("2006-01-02", "2006-02-30"), /: day out of range/);
    assert.throws(() => parseTime("2006-01-02", "2006-01-02x"), /extra text: "x"/);
    assert.throws(() => parseTime("2006-01-02", "06-01-02"), /cannot parse "06-01-02" as "2006"/);
  });

  it("parses durations like time.ParseDuration", () => {
    assert.equal(parseDuration("1h30m"), 5_400_000_000_000n);
    assert.equal(parseDuration("-1.5s"), -1_500_000_000n);
    assert.equal(parseDuration("1µs"), 1000n);
    assert.throws(() => parseDuration(""), /time: invalid duration ""/);
    assert.throws(() => parseDuration("10"), /time: missing unit in duration "10"/);
    assert.throws(() => parseDuration("1d"), /time: unknown unit "d" in duration "1d"/);
    assert.throws(() => parseDuration("9999999999h"), /invalid duration/);
  });
});

describe("time builtins", () => {
  it("now_ns is the query's start time", () => {
    assert.equal(call("time.now_ns"), 1_700_000_000_123_456_789n);
  });

  it("date/clock/weekday/format honour IANA zones", () => {
    const ns = 1517832000n * 1_000_000_000n;
    assert.deepEqual(call("time.clock", [ns, "America/New_York"]), [7, 0, 0]);
    assert.deepEqual(call("time.date", [ns, "Asia/Tokyo"]), [2018, 2, 5]);
    assert.equal(call("time.weekday", ns), "Monday");
    assert.equal(call("time.format", [ns, "Asia/Kolkata", "RFC3339"]), "2018-02-05T17:30:00+05:30");
    fails("time.date", "ERR_REGO_BUILTIN", "unknown time zone Mars/Olympus", [ns, "Mars/Olympus"]);
  });

  it("rejects bad operands and out-of-range instants", () => {
    fails(
      "time.date",
      "ERR_REGO_TYPE",
      "operand 1 must be either number (ns) or [number (ns), string (tz)] but got string",
      "x",
    );
    fails("time.date", "ERR_REGO_TYPE", "operand 1 must be either number (ns)", []);
    fails("time.clock", "ERR_REGO_BUILTIN", "timestamp too big", 2n ** 64n);
    fails("time.clock", "ERR_REGO_BUILTIN", "timestamp too big", 1.5);
    fails("time.add_date", "ERR_REGO_BUILTIN", "time outside of valid range", 0, 300, 0, 0);
    fails(
      "time.parse_rfc3339_ns",
      "ERR_REGO_BUILTIN",
      "time outside of valid range",
      "2262-04-11T23:47:16.854775808Z",
    );
    fails("time.parse_ns", "ERR_REGO_BUILTIN", "parsing time", "2006", "x");
    fails("time.parse_duration_ns", "ERR_REGO_BUILTIN", "time: invalid duration", ".h");
    fails("time.add_date", "ERR_REGO_TYPE", "operand 2 must be integer", 0, 1.5, 0, 0);
  });

  it("diff counts calendar units, borrowing days from the earlier month", () => {
    const d = (s: string) => call("time.parse_ns", "2006-01-02", s) as number | bigint;
    assert.deepEqual(call("time.diff", d("2020-03-01"), d("2020-02-01")), [0, 1, 0, 0, 0, 0]);
    assert.deepEqual(call("time.diff", d("2021-03-01"), d("2020-02-29")), [1, 0, 1, 0, 0, 0]);
  });
});
