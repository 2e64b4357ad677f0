import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import { fromJs, toJs } from "../value/json.js";
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import { cryptoBuiltins } from "./crypto.js";
import { globBuiltins, globToRegexp } from "./glob.js";
import { graphBuiltins } from "./graph.js";
import { netBuiltins } from "./net.js";
import { semverBuiltins } from "./semver.js";
import type { BuiltinContext, BuiltinTable } from "./types.js";
import { uriBuiltins } from "./uri.js";
import { uuidBuiltins } from "./uuid.js";
import { x509Builtins } from "./x509.js";

const tables: BuiltinTable[] = [
  uriBuiltins,
  globBuiltins,
  netBuiltins,
  semverBuiltins,
  uuidBuiltins,
  cryptoBuiltins,
  x509Builtins,
  graphBuiltins,
];
const ctx = (): BuiltinContext => ({
  strict: true,
  nowNs: 1_700_000_000n * 1_000_000_000n,
  cache: new Map(),
});
const call = (name: string, ...args: Value[]) => {
  const def = tables.map((t) => t[name]).find((d) => d);
  assert.ok(def, name);
  return def.fn(args, ctx());
};
const fails = (name: string, code: string, text: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === code && e.message.includes(text),
  );
const v = (x: unknown) => fromJs(x);

describe("glob builtins", () => {
  it("matches with delimiters, ** and alternatives", () => {
    assert.equal(call("glob.match", "*.github.com", v(["."]), "api.github.com"), true);
    assert.equal(call("glob.match", "*.github.com", v(["."]), "a.b.github.com"), false);
    assert.equal(call("glob.match", "**.github.com", v(["."]), "a.b.github.com"), true);
    assert.equal(call("glob.match", "{a,b[0-9]}x", null, "b7x"), true);
    assert.equal(call("glob.match", "\\*x", null, "*x"), true);
    assert.equal(call("glob.quote_meta", "a*b?[c]{d}\\"), "a\\*b\\?\\[c\\]\\{d\\}\\\\");
  });

  it("rejects malformed globs and operands", () => {
    fails(
      "glob.match",
      "ERR_REGO_BUILTIN",
      "glob: syntax error at 3: unexpected end of input",
      "[ab",
      null,
      "a",
    );
    fails(
      "glob.match",
      "ERR_REGO_BUILTIN",
      "glob: syntax error at 4: unclosed `{`",
      "{a,b",
      null,
      "a",
    );
    fails("glob.match", "ERR_REGO_TYPE", "operand 2 must be one of {array, null}", "a", "x", "a");
    fails(
      "glob.match",
      "ERR_REGO_BUILTIN",
      "nested deeper than",
      `${"{".repeat(30000)}${"}".repeat(30000)}`,
      null,
      "a",
    );
    // Pathological patterns stay linear: compiled to RE2.
    assert.equal(call("glob.match", "*a".repeat(50), null, `${"a".repeat(5000)}b`), false);
    assert.match(globToRegexp("a?b", ["."]), /^\(\?s\)\^a\[\^/);
  });
});

describe("net builtins", () => {
  it("follows Go's net parsing", () => {
    assert.equal(call("net.cidr_contains", "10.0.0.0/8", "10.1.2.3"), true);
    assert.equal(call("net.cidr_contains", "10.0.0.0/8", "::ffff:10.1.2.3"), true);
    assert.equal(call("net.cidr_contains", "2001:db8::/32", "2001:db8:1::/48"), true);
    assert.equal(call("net.cidr_is_valid", "010.0.0.0/8"), false); // leading zero
    assert.equal(call("net.cidr_is_valid", "1.2.3.4/33"), false);
    assert.equal(call("net.cidr_intersects", "192.168.1.0/25", "192.168.1.64/26"), true);
    assert.deepEqual(
      toJs(
        call(
          "net.cidr_merge",
          v(["10.0.0.0/25", "10.0.0.128/25", "2001:db8::/33", "2001:db8:8000::/33"]),
        ) as Value,
      ),
      ["10.0.0.0/24", "2001:db8::/32"],
    );
    assert.deepEqual(toJs(call("net.cidr_expand", "10.0.0.4/31") as Value), [
      "10.0.0.4",
      "10.0.0.5",
    ]);
  });

  it("rejects bad CIDRs and oversize expansions", () => {
    fails("net.cidr_contains", "ERR_REGO_BUILTIN", "invalid CIDR address: nope", "nope", "1.2.3.4");
    fails(
      "net.cidr_contains",
      "ERR_REGO_BUILTIN",
      "not a valid textual representation",
      "1.0.0.0/8",
      "x",
    );
    fails("net.cidr_expand", "ERR_REGO_BUILTIN", "refusing to expand", "10.0.0.0/8");
    fails("net.cidr_merge", "ERR_REGO_BUILTIN", "IPv6 invalid: needs prefix length", v(["::1"]));
    fails(
      "net.cidr_contains_matches",
      "ERR_REGO_BUILTIN",
      "element must be string or non-empty array",
      v([[]]),
      "1.1.1.1",
    );
  });
});

describe("semver, uuid and rand builtins", () => {
  it("orders versions by SemVer precedence", () => {
    const cmp = (a: string, b: string) => call("semver.compare", a, b);
    assert.equal(cmp("1.0.0-alpha", "1.0.0-alpha.1"), -1);
    assert.equal(cmp("1.0.0-alpha.beta", "1.0.0-beta"), -1);
    assert.equal(cmp("1.0.0-rc.1", "1.0.0"), -1);
    assert.equal(cmp("1.0.0+build.1", "1.0.0+build.2"), 0);
    assert.equal(cmp("10.0.0", "9.99.99"), 1);
    assert.equal(call("semver.is_valid", "01.0.0"), false);
    fails(
      "semver.compare",
      "ERR_REGO_BUILTIN",
      'operand 2: string "x" is not a valid SemVer',
      "1.0.0",
      "x",
    );
  });

  it("parses UUIDs in every accepted form and is undefined for garbage", () => {
    const o = call("uuid.parse", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8") as ObjectValue;
    assert.equal(o.get("version"), 1);
    assert.equal(o.get("variant"), "RFC4122");
    assert.equal(o.get("nodeid"), "00-c0-4f-d4-30-c8");
    assert.equal(call("uuid.parse", "not-a-uuid"), undefined);
    assert.equal(call("uuid.parse", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8"), undefined);
  });

  it("memoises random results per query and key", () => {
    const c = ctx();
    const u = uuidBuiltins["uuid.rfc4122"]!;
    assert.equal(u.fn(["k"], c), u.fn(["k"], c));
    assert.match(
      u.fn(["k"], c) as string,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const r = uuidBuiltins["rand.intn"]!;
    const x = r.fn(["k", 10], c) as number;
    assert.ok(x >= 0 && x < 10);
    assert.equal(r.fn(["k", 10], c), x);
    assert.equal(r.fn(["k", 0], c), 0);
  });
});

describe("crypto builtins", () => {
  it("hashes and HMACs UTF-8 text", () => {
    assert.equal(
      call("crypto.sha256", "abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(
      call("crypto.hmac.sha256", "msg", "key"),
      "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628",
    );
    assert.equal(call("crypto.hmac.equal", "abc", "abc"), true);
    assert.equal(call("crypto.hmac.equal", "abc", "abd"), false);
    assert.equal(call("crypto.hmac.equal", "abc", "ab"), false);
  });

  it("parses private keys to JWKs and refuses garbage", () => {
    const pem = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
      format: "pem",
      type: "pkcs1",
    }) as string;
    const jwk = call("crypto.x509.parse_rsa_private_key", pem) as ObjectValue;
    assert.equal(jwk.get("kty"), "RSA");
    assert.equal(
      (call("crypto.parse_private_keys", Buffer.from(pem).toString("base64")) as Value[]).length,
      1,
    );
    assert.equal(call("crypto.parse_private_keys", ""), null);
    fails("crypto.x509.parse_rsa_private_key", "ERR_REGO_BUILTIN", "illegal base64", "not base64!");
    fails(
      "crypto.x509.parse_rsa_private_key",
      "ERR_REGO_BUILTIN",
      "failed to parse PEM block",
      "aGVsbG8=",
    );
    fails(
      "crypto.x509.parse_certificates",
      "ERR_REGO_BUILTIN",
      "x509: malformed certificate",
      "YmFkc3RyaW5n",
    );
    fails(
      "crypto.x509.parse_certificates",
      "ERR_REGO_BUILTIN",
      "x509: malformed certificate",
      Buffer.from([0x30, 0x82, 0xff]).toString("base64"),
    );
  });
});

describe("graph builtins", () => {
  it("reachable follows arrays and sets and ignores unknown vertices", () => {
    const g = v({ a: ["b"], b: SetValue.of(["c"]), c: ["a"], x: [] });
    assert.deepEqual(toJs(call("graph.reachable", g, v(["a", "zz"])) as Value), ["a", "b", "c"]);
    assert.deepEqual(toJs(call("graph.reachable_paths", g, v(["a"])) as Value), [["a", "b", "c"]]);
    fails("graph.reachable", "ERR_REGO_TYPE", "operand 2 must be {array, set}", g, "a");
    fails("graph.reachable", "ERR_REGO_TYPE", "operand 1 must be object", v([]), v([]));
  });

  it("refuses paths too long to follow", () => {
    const chain = new ObjectValue();
    for (let i = 0; i < 5000; i++) chain.set(`v${i}`, [`v${i + 1}`]);
    fails("graph.reachable_paths", "ERR_REGO_BUILTIN", "path longer than", chain, v(["v0"]));
    assert.equal((call("graph.reachable", chain, v(["v0"])) as SetValue).size, 5000);
  });

  it("refuses graphs with an exponential number of paths", () => {
    const g = new ObjectValue();
    for (let i = 0; i < 40; i++) g.set(`n${i}`, [`a${i}`, `b${i}`]);
    for (let i = 0; i < 40; i++) {
      g.set(`a${i}`, [`n${i + 1}`]);
      g.set(`b${i}`, [`n${i + 1}`]);
    }
    fails("graph.reachable_paths", "ERR_REGO_BUILTIN", "more than", g, v(["n0"]));
  });
});

describe("uri builtins", () => {
  it("parses like Go's net/url and omits empty components", () => {
    assert.deepEqual(
      toJs(call("uri.parse", "HTTPS://u:p@Host.example:8443/a%2Fb/c?x=1#f%20g") as Value),
      {
        fragment: "f g",
        hostname: "Host.example",
        path: "/a/b/c",
        port: "8443",
        raw_path: "/a%2Fb/c",
        raw_query: "x=1",
        scheme: "https",
      },
    );
    assert.deepEqual(toJs(call("uri.parse", "mailto:a@b") as Value), { scheme: "mailto" });
    assert.equal(call("uri.is_valid", "http://[::1]:8080/x"), true);
  });

  it("is undefined / false for malformed URIs", () => {
    for (const bad of [
      "%zz",
      "http://a b/",
      "http://h:port/",
      "http://[::1",
      ":x",
      "a\u0000b",
      "1a:b/c:d",
    ]) {
      assert.equal(call("uri.parse", bad), undefined, bad);
      assert.equal(call("uri.is_valid", bad), false, bad);
    }
    assert.equal(call("uri.is_valid", ""), false);
    assert.equal(call("uri.is_valid", 5), false);
    fails("uri.parse", "ERR_REGO_TYPE", "operand 1 must be string", 5);
  });
});
