// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go Expand templates (`${1}`) are under test
/**
 * Differential test: the same builtin calls evaluated by our engine and by the real `opa`
 * binary (installed by scripts/setup into .tools/bin), compared rule by rule. Calls that fail
 * are undefined on both sides (non-strict mode), so error behaviour is compared as well.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, sign as cryptoSign, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { toolPath } from "../../../test/helpers/paths.js";
import { createEngine } from "../index.js";
import { parseJsonValue, toJsonText } from "../value/json.js";
import type { ObjectValue, Value } from "../value/value.js";

const opa = toolPath("opa");
const skip = existsSync(opa) ? false : `${opa} is absent (scripts/setup installs it)`;

// Keys made per run: deterministic signatures (RSA PKCS#1 v1.5, Ed25519) must match opa's.
const RSA_JWK = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
  format: "jwk",
});
const ED_JWK = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });

// One rule per call; names keep the output readable when a rule differs.
const RULES: Record<string, string> = {
  re_split: 'regex.split("[,;] ?", "a, b;c,,d")',
  re_find: 'regex.find_n("[0-9]+", "a1 b22 c333", 2)',
  re_sub: 'regex.find_all_string_submatch_n("(\\\\w+)=(\\\\d*)", "a=1 b= c=33", -1)',
  re_repl: 'regex.replace("2024-01-31", "(\\\\d+)-(\\\\d+)-(\\\\d+)", "$3/$2/$1 ${1}x $$")',
  re_empty: 'regex.replace("abc", "x*", "-")',
  re_unicode: 'regex.find_n("\\\\pL+", "héllo wörld 123", -1)',
  re_bad: 'regex.match("(", "x")',
  re_tmpl: 'regex.template_match("urn:<[a-z]+>:<[0-9]+>", "urn:abc:42", "<", ">")',
  re_globs: 'regex.globs_match("a.+b*", "a[xy]c*")',
  glob_1: 'glob.match("api.*.example.com", ["."], "api.v1.example.com")',
  glob_2: 'glob.match("{a,b}/**", ["/"], "b/c/d")',
  glob_3: 'glob.match("[!x]?[a-c]", null, "yzb")',
  units_1: 'units.parse("1.5Gi")',
  units_2: 'units.parse("250m")',
  units_3: 'units.parse_bytes("1.5GB")',
  units_4: 'units.parse_bytes("12e3kib")',
  b64_1: 'base64.encode("héllo\\u0000!")',
  b64_2: 'base64url.decode("aMOpbGxv")',
  b64_bad: 'base64.decode("aGVsbG8")',
  hex_1: 'hex.decode("48656c6c6f")',
  url_1: 'urlquery.encode("a b&c=d/é~")',
  url_2: 'urlquery.decode_object("x=1&y=%20&x=2&z")',
  url_3: 'urlquery.encode_object({"b": ["2", "1"], "a": "x y"})',
  json_1: 'json.marshal({"b": [1, 2.5, "x<y"], "a": {"z": null, "c": true}})',
  json_2: 'json.marshal_with_options({"a": [1]}, {"indent": "  ", "prefix": "# "})',
  json_3: 'json.unmarshal("{\\"a\\": [1, 2, {\\"b\\": null}]}")',
  json_4: 'json.filter({"a": {"b": 1, "c": 2}, "d": [1, 2, 3]}, ["a/b", "d/1"])',
  json_5: 'json.remove({"a": {"b": 1, "c": 2}, "d": [1, 2, 3]}, {"a/b", "d/0"})',
  json_6:
    'json.patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}, {"op": "copy", "from": "/a", "path": "/b"}])',
  yaml_1: 'yaml.unmarshal("a: yes\\nb: [1, 2.5, x]\\nc: {d: ~}\\n")',
  yaml_2: 'yaml.unmarshal(yaml.marshal({"k": ["v", 1, true, null], "n": {"x": "1"}}))',
  yaml_3:
    'yaml.marshal({"s": ["yes", "1", "", "a: b", "x\\ny", "012", "it\'s: x", "- a", "#c", "~", "1.5", "2001-12-14", "plain text"], "on": [{"k": [1, 2]}]})',
  yaml_4:
    'yaml.unmarshal("a: yes\\nb: 010\\nc: 0b11\\nd: 1_000\\ne: True\\nf: 2001-12-14\\ng: 0o17\\nh: NULL\\n1: x\\n")',
  net_6: 'net.cidr_merge(["::ffff:10.0.0.0/104", "10.1.0.0/16"])',
  re_named:
    'regex.replace("john smith", "(?P<first>\\\\w+) (?P<last>\\\\w+)", "${last}, ${first}")',
  re_flags: 'regex.find_n("(?i)\\\\bfoo\\\\b", "Foo food FOO", -1)',
  re_anchor: 'regex.match("^a\\\\z", "a\\n")',
  re_class: 'regex.find_n("[[:upper:]][[:digit:]]+", "A1 b2 C33", -1)',
  re_split_empty: 'regex.split("", "héllo")',
  re_valid: 'regex.is_valid("(?<name>x)")',
  glob_4: 'glob.match("**.com", [], "a.b.com")',
  glob_5: 'glob.match("a?c", ["/"], "a/c")',
  glob_6: 'glob.match("[a-c]*", ["."], "b.x")',
  glob_7: 'glob.quote_meta("{a,b}*?[x]\\\\")',
  b64_nl: 'base64.decode("aGVs\\nbG8=")',
  b64_is: 'base64.is_valid("aGVsbG8")',
  url_plus: 'urlquery.decode("a+b%2Bc%20d")',
  url_bad: 'urlquery.decode("%zz")',
  hex_up: 'hex.decode("4A4b")',
  json_esc: 'json.marshal(["\\u0001\\t\\u2028é😀", 1e-7, 123456789012, -0.5])',
  json_unesc: 'json.unmarshal("\\"\\\\u00e9\\\\ud83d\\\\ude00\\"")',
  time_rfc1123: 'time.parse_ns("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST")',
  time_frac: 'time.parse_ns("2006-01-02 15:04:05.000", "2024-03-05 07:08:09.123")',
  time_pm: 'time.parse_ns("3:04PM Jan 2 2006", "11:30PM Feb 29 2024")',
  time_yday: 'time.format([1709622489000000000, "UTC", "2006 002 __2 Mon"])',
  time_neg: "time.clock(-1000000000)",
  time_dst:
    'time.diff([1710054000000000000, "America/New_York"], [1709967600000000000, "America/New_York"])',
  time_eom: "time.add_date(1706659200000000000, 0, 1, 0)",
  time_kitchen: 'time.format([1709622489000000000, "Europe/Paris", "Kitchen 3:04PM -07:00 MST"])',
  time_dur: 'time.parse_duration_ns("1.5µs")',
  time_dur2: 'time.parse_duration_ns(".5h")',
  units_5: 'units.parse("1.5")',
  units_6: 'units.parse_bytes("0.1")',
  units_7: 'units.parse("3Mi")',
  net_7: 'net.cidr_expand("2001:db8::/126")',
  net_8: 'net.cidr_contains("10.0.0.0/8", "2001:db8::1")',
  net_9: 'net.cidr_merge(["0.0.0.0/1", "128.0.0.0/1"])',
  semver_3: 'semver.compare("1.0.0-rc.1", "1.0.0-rc.1+b")',
  uuid_2: 'uuid.parse("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}")',
  crypto_3: 'crypto.md5("")',
  crypto_4: 'crypto.sha1("abc")',
  jwt_4:
    'io.jwt.decode_verify(io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, {"iss": "a", "nbf": 1, "exp": 4102444800, "aud": ["x", "y"]}, {"kty": "oct", "k": "c2VjcmV0"}), {"secret": "secret", "aud": "y", "iss": "a"})',
  json_7:
    'json.patch({"a": {"b": [1, 2]}}, [{"op": "move", "from": "/a/b/0", "path": "/c"}, {"op": "test", "path": "/c", "value": 1}, {"op": "replace", "path": "/a", "value": null}])',
  json_8: 'json.marshal_with_options({"b": 1, "a": {"c": []}}, {"pretty": true})',
  uri_parse:
    '{c: uri.parse(c) | some c in ["https://user:pa%20ss@Example.COM:8443/a%2Fb/c d?x=1&y=%20#frag%20x", "mailto:a@b.c", "urn:isbn:123", "/relative/path?q", "//host/p", "http://[::1]:80/", "", "http://a b", "%zz", "http://host/%e2%82", "file:///etc/passwd", "HTTP://x/../y/./z", "?only", "#frag", "http://h:bad/", "a:b:c", "x?", "http://[fe80::1%25eth0]/", "http://h/p?q#", "1http://x", ":x", "http://ex%41mple.com/"]}',
  uri_valid:
    '{c: uri.is_valid(c) | some c in ["", "#f", "%zz", "http://a b", "http://h:bad/", "a:b:c", "http://x/%", "http://u@h/", "http://u^@h/", "http://[::1", "ok"]}',
  t_f1: 'time.format([-123456789012345678, "UTC", "2006-01-02T15:04:05.999999999Z07:00"])',
  t_f2: 'time.format([1709622489120000000, "UTC", "15:04:05.000 .999 ,999999"])',
  t_f3: 'time.format([1709622489000000000, "Asia/Kathmandu", "Z07:00 -0700 -07 Z0700 -07:00:00"])',
  t_f4: 'time.format([1709622489000000000, "America/St_Johns", "Jan _2 06 3:4:5 pm MST"])',
  t_f5: 'time.format([1711846800000000000, "Europe/Berlin", "RFC822Z"])',
  t_p1: 'time.parse_ns("2006-01-02T15:04:05.999Z07:00", "2024-03-31T02:30:00.5+02:00")',
  t_p2: 'time.parse_ns("Jan 2, 2006 at 3:04pm (MST)", "Feb 3, 2013 at 7:54pm (PST)")',
  t_p3: 'time.parse_ns("2006-01-02 15:04:05 -0700 MST", "2024-03-05 07:08:09 +0900 JST")',
  t_p4: 'time.parse_ns("06-1-2", "99-12-31")',
  t_p5: 'time.parse_ns("2006-002", "2024-060")',
  t_p6: 'time.parse_ns("Monday, 02-Jan-06 15:04:05 MST", "Tuesday, 05-Mar-24 07:08:09 GMT+3")',
  t_p7: 'time.parse_ns("15:04", "24:00")',
  t_p8: 'time.parse_ns("2006-01-02", "2023-02-29")',
  t_p9: 'time.parse_rfc3339_ns("2024-03-05T07:08:09.1234567891Z")',
  t_a1: "time.add_date(1711846800000000000, 0, 0, 1)",
  t_a2: "time.add_date(1706659200000000000, 0, 13, -400)",
  t_d1: 'time.diff([1711846800000000000, "Europe/Berlin"], [1711760400000000000, "UTC"])',
  t_d2: "time.diff(0, 1709622489123456789)",
  t_c1: 'time.clock([1711846800000000000, "Australia/Lord_Howe"])',
  t_w1: "time.weekday(-1)",
  r_n1: 'regex.find_n(".", "a😀b", 10)',
  r_n2: 'regex.find_all_string_submatch_n("(a)|(b)", "ab", -1)',
  r_n3: 'regex.split("😀", "x😀y😀")',
  r_n4: 'regex.replace("aaa", "a*?", "-")',
  r_n5: 'regex.replace("héllo", "(?P<v>[éo])", "[$v]")',
  r_n6: 'regex.match("(?s)a.b", "a\\nb")',
  r_n7: 'regex.find_n("(?m)^\\\\w+$", "ab\\ncd\\n", -1)',
  r_n8: 'regex.template_match("{[a-z]+}.{[0-9]+}", "abc.123", "{", "}")',
  u_n1: 'units.parse_bytes("1.5e3")',
  u_n2: 'units.parse("-2Ki")',
  u_n3: 'units.parse("0.001")',
  b_n1: 'base64url.encode("\\u00ff\\u00fe")',
  j_n1: 'json.marshal({"k": {"z": 1, "a": [{}, []]}, "é": "\\u001f"})',
  j_n2: 'json.unmarshal("[1e2, -0, 1.50, 12345678901234567890]")',
  n_n1: 'net.cidr_merge(["1.2.3.4/32", "1.2.3.5/32", "1.2.3.6/31", "1.2.3.0/30"])',
  n_n2: 'net.cidr_contains_matches(["10.0.0.0/8", ["192.168.0.0/16", "z"]], {"10.1.2.3", "192.168.1.1", "8.8.8.8"})',
  s_n1: 'semver.compare("1.2.3-alpha", "1.2.3-ALPHA")',
  k_rs: `io.jwt.encode_sign_raw("{\\"alg\\":\\"RS512\\"}", "{\\"a\\":1}", ${JSON.stringify(JSON.stringify(RSA_JWK))})`,
  k_ed: `io.jwt.encode_sign({"alg": "EdDSA", "typ": "JWT"}, {"sub": "x", "n": [1, 2]}, ${JSON.stringify(ED_JWK)})`,
  k_dv: `io.jwt.decode_verify(io.jwt.encode_sign({"alg": "EdDSA", "kid": "k"}, {"aud": "a"}, ${JSON.stringify(ED_JWK)}), {"cert": ${JSON.stringify(JSON.stringify({ keys: [{ ...ED_JWK, d: undefined, kid: "k" }] }))}, "aud": "a"})`,
  k_nested:
    'io.jwt.decode(io.jwt.encode_sign_raw("{\\"alg\\":\\"HS256\\",\\"cty\\":\\"JWT\\",\\"typ\\":\\"x\\"}", io.jwt.encode_sign({"alg": "HS256"}, {"inner": true}, {"kty": "oct", "k": "YQ"}), "{\\"kty\\":\\"oct\\",\\"k\\":\\"YQ\\"}"))',
  p_1: 'json.patch([1, 2, 3], [{"op": "remove", "path": "/1"}, {"op": "add", "path": "/0", "value": 0}, {"op": "replace", "path": "", "value": {"x": 1}}])',
  p_2: 'json.patch({"a": 1}, [{"op": "move", "from": "/a", "path": "/a/b"}])',
  p_3: 'json.filter({"a": [{"b": 1, "c": 2}, {"b": 3}]}, ["a/0/b", "a/1"])',
  e_1: 'urlquery.encode_object({"a": {"x", "y"}, "b": ["z w"], "c": "&"})',
  e_2: 'hex.encode("é😀")',
  e_3: 'base64.decode("aGVsbG8==")',
  e_4: 'base64.decode("aGVsbA==")',
  e_5: 'base64url.decode("aGVsbA")',
  sv_1: 'semver.compare("99999999999999999999.0.0", "99999999999999999998.9.9")',
  nx_1: 'net.cidr_expand("::ffff:10.0.0.0/127")',
  g_1: 'graph.reachable({"a": {"b"}, "b": {"a", "c"}, "c": set()}, {"a"})',
  gm: '[regex.globs_match(a, b) | some [a, b] in [["a.*", "ab+c"], ["[a-c]+d", "b*d"], ["x+y*z", "xz"], ["ab", "a.+"], ["[ab]+c", "[bc]+"], [".*", ""], ["a*", ""], ["a+", "b+"], ["\\\\.a", ".a"], ["[a-z]*[0-9]", "abc[5-7]"], ["a.b.c", "a*b*c*"], ["a+b", "a*a+b"]]]',
  lookup:
    '[net.lookup_ip_addr(x) | some x in ["10.0.0.1", "::", "::ffff:1.2.3.4", "2001:DB8:0::1"]]',
  time_1: 'time.parse_rfc3339_ns("2024-02-29T23:59:59.123456789+05:30")',
  time_2: 'time.parse_ns("Mon Jan _2 15:04:05 MST 2006", "Tue Mar  5 07:08:09 UTC 2024")',
  time_3: 'time.parse_ns("02 Jan 06 15:04 -0700", "05 Mar 24 07:08 -0130")',
  time_4:
    'time.format([1709622489123456789, "America/New_York", "2006-01-02T15:04:05.000Z07:00 Monday (Jan) 3PM"])',
  time_5: 'time.date([1709622489123456789, "Asia/Kathmandu"])',
  time_6: "time.add_date(1709622489123456789, 1, -14, 40)",
  time_7: "time.diff(1709622489123456789, 1582977600000000000)",
  time_8: 'time.parse_duration_ns("1h2m3.5s-")',
  time_9: 'time.parse_duration_ns("-1.5h30us")',
  time_10: 'time.weekday([0, "Pacific/Kiritimati"])',
  time_bad: 'time.parse_ns("2006-01-02", "2024-02-30")',
  net_1: 'net.cidr_contains("2001:db8::/32", "2001:db8:ffff::1")',
  net_2:
    'net.cidr_merge(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/25", "192.168.1.7", "2001:db8::/48", "2001:db8:1::/48"])',
  net_3: 'net.cidr_expand("192.168.7.6/31")',
  net_4:
    'net.cidr_contains_matches({"a": "10.0.0.0/8", "b": ["192.168.0.0/16", "x"]}, ["10.1.1.1", "192.168.2.2"])',
  net_5: 'net.cidr_intersects("::ffff:10.0.0.0/104", "10.0.0.0/8")',
  semver_1: 'semver.compare("1.0.0-alpha.10", "1.0.0-alpha.9")',
  semver_2: 'semver.is_valid("1.2.3-rc.1+build.5")',
  uuid_1: 'uuid.parse("c232ab00-9414-11ec-b3c8-9f6bdeced846")',
  crypto_1: 'crypto.sha256("héllo")',
  crypto_2: 'crypto.hmac.sha512("msg", "key")',
  jwt_1:
    'io.jwt.decode("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")',
  jwt_2:
    'io.jwt.verify_hs256("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "your-256-bit-secret")',
  jwt_3:
    'io.jwt.encode_sign({"alg": "HS384"}, {"a": [1, {"b": "<"}]}, {"kty": "oct", "k": "c2VjcmV0"})',
  graph_1: 'graph.reachable_paths({"a": ["b", "c"], "b": ["c"], "c": []}, ["a"])',
  aws_1:
    'providers.aws.sign_req({"method": "PUT", "url": "https://bucket.s3.amazonaws.com/a%20b/c?x=1&y=2", "headers": {"Content-Type": "text/plain", "User-Agent": "x"}, "raw_body": "hello"}, {"aws_access_key": "AK", "aws_secret_access_key": "SK", "aws_service": "s3", "aws_region": "eu-west-1", "aws_session_token": "T"}, 1700000000000000000)',
  schema_1:
    'json.match_schema({"a": "x", "b": [1, 2]}, {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "array", "items": {"type": "integer"}}}, "required": ["a", "c"]})',
};

// Calls that fail: OPA's error code and message (strict builtin errors) must match ours.
const ERRORS: string[] = [
  'regex.match("a{2,1}", "x")',
  'regex.template_match("a{b", "x", "{", "}")',
  'regex.globs_match("[b-a]", "x")',
  'glob.match("[a", [], "x")',
  'base64.decode("aGVsbG8")',
  'base64url.decode("a")',
  'hex.decode("abc")',
  'urlquery.decode("%4")',
  'json.unmarshal("{\\"a\\": }")',
  'yaml.unmarshal("a: [1")',
  'time.parse_rfc3339_ns("2024-13-01T00:00:00Z")',
  'time.parse_ns("2006-01-02", "2024-01-01x")',
  'time.parse_duration_ns("3x")',
  'time.parse_duration_ns("")',
  'time.date([0, "Mars/Base"])',
  "time.add_date(9000000000000000000, 100, 0, 0)",
  'units.parse("5 GB")',
  'units.parse_bytes("5qb")',
  'net.cidr_contains("10.0.0.0/33", "10.0.0.1")',
  'net.cidr_contains("10.0.0.0/8", "bad")',
  'net.cidr_expand("bad")',
  'net.cidr_merge(["2001:db8::1"])',
  'semver.compare("1.0", "1.0.0")',
  'io.jwt.decode("a.b")',
  'io.jwt.decode("e30.e30")',
  'io.jwt.verify_rs256("e30.e30.", "-----BEGIN X-----\\nAAAA\\n-----END X-----\\n")',
  'io.jwt.encode_sign_raw("{\\"alg\\":\\"HS256\\"}", "x", "{\\"kty\\":\\"oct\\",\\"k\\":\\"YQ\\"}")',
  'io.jwt.decode_verify("e30.e30.", {"bogus": 1})',
  'crypto.x509.parse_certificates("YmFkc3RyaW5n")',
  'crypto.x509.parse_rsa_private_key("notbase64!")',
];

describe("builtin errors agree with the opa binary", { skip }, () => {
  it("on code and message", () => {
    const dir = mkdtempSync(join(tmpdir(), "opa-diff-err-"));
    const diffs: string[] = [];
    try {
      for (const expr of ERRORS) {
        const policy = `package e\nimport rego.v1\nx := ${expr}\n`;
        writeFileSync(join(dir, "e.rego"), policy);
        let theirs = { code: "", message: "" };
        try {
          execFileSync(
            opa,
            [
              "eval",
              "--strict-builtin-errors",
              "--format",
              "json",
              "-d",
              join(dir, "e.rego"),
              "data.e.x",
            ],
            {
              encoding: "utf8",
              stdio: ["ignore", "pipe", "pipe"],
            },
          );
        } catch (e) {
          const out = JSON.parse((e as { stdout: string }).stdout) as {
            errors: { code: string; message: string }[];
          };
          theirs = { code: out.errors[0]?.code ?? "", message: out.errors[0]?.message ?? "" };
        }
        const eng = createEngine();
        eng.setStrictBuiltinErrors(true);
        eng.addPolicy("e.rego", policy);
        let ours = { code: "", message: "" };
        try {
          eng.evalRule("data.e.x");
        } catch (e) {
          const r = e as { opaCode?: string; detail?: string; message: string };
          ours = { code: r.opaCode ?? "", message: r.detail ?? r.message };
        }
        if (ours.code !== theirs.code || ours.message !== theirs.message) {
          diffs.push(`${expr}: ours ${JSON.stringify(ours)} opa ${JSON.stringify(theirs)}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(diffs, []);
  });
});

const CERT_POLICY = `package certs
import rego.v1
fields := [x |
  some c in crypto.x509.parse_certificates(data.chain)
  x := {"cn": c.Subject.CommonName, "o": c.Subject.Organization, "ou": c.Subject.OrganizationalUnit,
    "dns": c.DNSNames, "uri": c.URIStrings, "ips": c.IPAddresses, "emails": c.EmailAddresses,
    "ca": c.IsCA, "nb": c.NotBefore, "na": c.NotAfter, "sn": c.SerialNumber, "ver": c.Version,
    "issuer": c.Issuer.CommonName, "ku": c.KeyUsage, "bcv": c.BasicConstraintsValid,
    "mpl": c.MaxPathLen, "pka": c.PublicKeyAlgorithm}
]
verified := [v[0], [c.Subject.CommonName | some c in v[1]]] if v := crypto.x509.parse_and_verify_certificates(data.root_first)
broken := crypto.x509.parse_and_verify_certificates(data.broken)[0]
csr := [r.Subject.CommonName, r.DNSNames] if r := crypto.x509.parse_certificate_request(data.csr)
nkeys := count(crypto.parse_private_keys(data.keys))
rsa := crypto.x509.parse_rsa_private_key(data.rsa)
pair := count(crypto.x509.parse_keypair(data.leaf, data.rsa).Certificate)
jwt_cert := io.jwt.verify_rs256(data.token, data.leaf)
jwt_dv := io.jwt.decode_verify(data.token, {"cert": data.leaf, "aud": "svc"})[0]
plain_client := crypto.x509.parse_and_verify_certificates(data.client)[0]
plain_noeku := crypto.x509.parse_and_verify_certificates(data.noeku)[0]
opt := {k: crypto.x509.parse_and_verify_certificates_with_options(data.client, o)[0] | some k, o in {
  "client": {"KeyUsages": ["KeyUsageClientAuth"]},
  "server": {"KeyUsages": ["KeyUsageServerAuth"]},
  "both": {"KeyUsages": ["KeyUsageServerAuth", "KeyUsageClientAuth"]},
  "any": {"KeyUsages": ["KeyUsageAny"]},
  "none": {},
  "dns_ok": {"DNSName": "svc.example.com", "KeyUsages": ["KeyUsageAny"]},
  "dns_wild": {"DNSName": "a.wild.example.com", "KeyUsages": ["KeyUsageAny"]},
  "dns_wild2": {"DNSName": "a.b.wild.example.com", "KeyUsages": ["KeyUsageAny"]},
  "dns_bad": {"DNSName": "other.example.com", "KeyUsages": ["KeyUsageAny"]},
  "dns_ip": {"DNSName": "10.1.2.3", "KeyUsages": ["KeyUsageAny"]},
  "dns_case": {"DNSName": "SVC.Example.com", "KeyUsages": ["KeyUsageAny"]},
  "future": {"CurrentTime": 4102444800000000000, "KeyUsages": ["KeyUsageAny"]},
  "past": {"CurrentTime": 946684800000000000, "KeyUsages": ["KeyUsageAny"]},
  "bad_key": {"Bogus": 1},
  "bad_usage": {"KeyUsages": ["Nope"]},
}}
`;

describe("x509 and key builtins agree with the opa binary on openssl-made material", {
  skip: skip || (existsSync("/usr/bin/openssl") ? false : "openssl is absent"),
}, () => {
  it("on certificate fields, chain verification, CSRs, keys and JWT verification", () => {
    const dir = mkdtempSync(join(tmpdir(), "opa-diff-x509-"));
    try {
      const sh = (cmd: string) =>
        execFileSync("bash", ["-c", cmd], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      sh(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -subj "/CN=Root CA/O=Test" -days 3650 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout int.key -out int.csr -subj "/CN=Intermediate/O=Test"
printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n" > int.ext
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 7 -out int.pem -days 3650 -extfile int.ext
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=leaf.example.com/O=Test/OU=Unit" -addext "subjectAltName=DNS:leaf.example.com,DNS:*.example.com,IP:10.0.0.1,URI:spiffe://example.com/x,email:a@example.com"
printf "subjectAltName=DNS:leaf.example.com,DNS:*.example.com,IP:10.0.0.1,URI:spiffe://example.com/x,email:a@example.com\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" > leaf.ext
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 123456789012345678901234567890 -out leaf.pem -days 365 -extfile leaf.ext
openssl pkey -in leaf.key -traditional -out leaf.rsa.pem
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key -out c.csr -subj "/CN=client"
printf "subjectAltName=DNS:svc.example.com,DNS:*.wild.example.com,IP:10.1.2.3\\nextendedKeyUsage=clientAuth\\n" > c.ext
openssl x509 -req -in c.csr -CA root.pem -CAkey root.key -set_serial 9 -out c.pem -days 30 -extfile c.ext
printf "subjectAltName=DNS:svc.example.com\\n" > n.ext
openssl x509 -req -in c.csr -CA root.pem -CAkey root.key -set_serial 10 -out n.pem -days 30 -extfile n.ext`);
      const read = (f: string) => readFileSync(join(dir, f), "utf8");
      const leafKey = createPrivateKey(read("leaf.key"));
      const head = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString("base64url")}.${Buffer.from('{"aud":"svc","sub":"x"}').toString("base64url")}`;
      const token = `${head}.${cryptoSign("sha256", Buffer.from(head), leafKey).toString("base64url")}`;
      const data = {
        chain: read("leaf.pem") + read("int.pem") + read("root.pem"),
        root_first: read("root.pem") + read("int.pem") + read("leaf.pem"),
        broken: read("root.pem") + read("leaf.pem"),
        csr: read("leaf.csr"),
        keys: read("leaf.key") + read("root.key") + read("int.key"),
        rsa: read("leaf.rsa.pem"),
        leaf: read("leaf.pem"),
        client: read("root.pem") + read("c.pem"),
        noeku: read("root.pem") + read("n.pem"),
        token,
      };
      writeFileSync(join(dir, "p.rego"), CERT_POLICY);
      writeFileSync(join(dir, "d.json"), JSON.stringify(data));
      const out = parseJsonValue(
        execFileSync(
          opa,
          [
            "eval",
            "--format",
            "json",
            "-d",
            join(dir, "p.rego"),
            "-d",
            join(dir, "d.json"),
            "data.certs",
          ],
          {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
          },
        ),
      ) as ObjectValue;
      const row = (out.get("result") as Value[])[0] as ObjectValue;
      const theirs = ((row.get("expressions") as Value[])[0] as ObjectValue).get(
        "value",
      ) as ObjectValue;
      const e = createEngine();
      e.setStrictBuiltinErrors(false);
      e.addPolicy("p.rego", CERT_POLICY);
      e.addData(data);
      const ours = e.evalRuleValue("data.certs") as ObjectValue;
      const text = (v: Value | undefined) => (v === undefined ? "undefined" : toJsonText(v));
      const diffs = [
        "fields",
        "verified",
        "broken",
        "csr",
        "nkeys",
        "rsa",
        "pair",
        "jwt_cert",
        "jwt_dv",
      ]
        .filter((k) => text(ours.get(k)) !== text(theirs.get(k)))
        .map((k) => `${k}: ours ${text(ours.get(k))} opa ${text(theirs.get(k))}`);
      assert.deepEqual(diffs, []);
      // Both sides must have decided, not merely both failed.
      assert.equal((ours.get("fields") as Value[]).length, 3);
      assert.equal(
        text(ours.get("verified")),
        '[true,["leaf.example.com","Intermediate","Root CA"]]',
      );
      assert.equal(ours.get("broken"), false);
      assert.equal(ours.get("nkeys"), 3);
      assert.equal(ours.get("pair"), 1);
      assert.equal(ours.get("jwt_cert"), true);
      assert.equal(ours.get("jwt_dv"), true);
      assert.equal(ours.get("plain_client"), false);
      assert.equal((ours.get("opt") as ObjectValue).get("dns_wild"), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("builtins agree with the opa binary", { skip }, () => {
  it("on every call in the table", () => {
    const policy = `package diff\nimport rego.v1\n${Object.entries(RULES)
      .map(([k, e]) => `${k} := ${e}`)
      .join("\n")}\n`;
    const dir = mkdtempSync(join(tmpdir(), "opa-diff-"));
    let theirs: ObjectValue;
    try {
      writeFileSync(join(dir, "p.rego"), policy);
      // Parsed losslessly: nanosecond timestamps exceed 2^53.
      const out = parseJsonValue(
        execFileSync(opa, ["eval", "--format", "json", "-d", join(dir, "p.rego"), "data.diff"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        }),
      ) as ObjectValue;
      const row = (out.get("result") as Value[])[0] as ObjectValue;
      theirs = ((row.get("expressions") as Value[])[0] as ObjectValue).get("value") as ObjectValue;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const e = createEngine();
    e.setStrictBuiltinErrors(false); // as `opa eval` by default
    e.addPolicy("p.rego", policy);
    const ours = e.evalRuleValue("data.diff") as ObjectValue;
    const text = (v: Value | undefined) => (v === undefined ? "undefined" : toJsonText(v));
    const diffs: string[] = [];
    for (const k of Object.keys(RULES)) {
      const a = text(ours.get(k));
      const b = text(theirs.get(k));
      if (a !== b) diffs.push(`${k}: ours ${a} opa ${b}`);
    }
    assert.deepEqual(diffs, []);
  });
});
