import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import { encodingBuiltins } from "./encoding.js";
import { Base64Error, base64Decode, base64Encode, RAW_URL, STD, URL, utf8 } from "./gobase64.js";
import type { BuiltinContext } from "./types.js";

const ctx = (): BuiltinContext => ({ strict: true, nowNs: 0n, cache: new Map() });
const call = (name: string, ...args: Value[]) => {
  const def = encodingBuiltins[name];
  assert.ok(def, name);
  return def.fn(args, ctx());
};
const fails = (name: string, code: string, text: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === code && e.message.includes(text),
  );

describe("Go base64 codec", () => {
  it("round-trips every length with and without padding", () => {
    for (let n = 0; n < 20; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      for (const enc of [STD, URL, RAW_URL]) {
        const s = base64Encode(enc, b);
        let want = Buffer.from(b).toString("base64");
        if (enc.url) want = want.replaceAll("+", "-").replaceAll("/", "_");
        if (!enc.pad) want = want.replace(/=+$/, "");
        assert.equal(s, want);
        assert.deepEqual(base64Decode(enc, utf8(s)), b);
      }
    }
  });

  it("reports the offset of the first bad byte as Go does", () => {
    const off = (s: string) => {
      try {
        base64Decode(STD, utf8(s));
        return -1;
      } catch (e) {
        assert.ok(e instanceof Base64Error);
        return e.offset;
      }
    };
    assert.equal(off("aGVsbG8"), 4); // truncated: missing padding
    assert.equal(off("aGVs*G8="), 4);
    assert.equal(off("aGVsbG8=x"), 8); // trailing garbage after padding
    assert.equal(off("a==="), 1);
    assert.equal(off("aGVs\nbG8="), -1); // newlines are skipped
  });
});

describe("encoding builtins", () => {
  it("base64 encodes and decodes UTF-8 text", () => {
    assert.equal(call("base64.encode", "héllo"), "aMOpbGxv");
    assert.equal(call("base64.decode", "aMOpbGxv"), "héllo");
    assert.equal(call("base64.is_valid", "aGVsbG8="), true);
    assert.equal(call("base64.is_valid", "aGVsbG8"), false);
    assert.equal(call("base64.is_valid", 5), false);
  });

  it("rejects malformed base64 with Go's text and wrong types with a type error", () => {
    fails("base64.decode", "ERR_REGO_BUILTIN", "illegal base64 data at input byte 4", "aGVs*G8=");
    fails("base64.decode", "ERR_REGO_TYPE", "operand 1 must be string but got number", 1);
    fails("base64url.decode", "ERR_REGO_BUILTIN", "illegal base64url string: a", "a");
    fails("base64url.encode", "ERR_REGO_TYPE", "operand 1 must be string", null);
  });

  it("base64url restores omitted padding", () => {
    assert.equal(call("base64url.decode", "aGVsbG8"), "hello");
    assert.equal(call("base64url.decode", "_-8"), "\ufffd\ufffd"); // 0xff 0xef: invalid UTF-8
    assert.equal(call("base64url.encode_no_pad", "\u00ff"), "w78");
  });

  it("hex", () => {
    assert.equal(call("hex.encode", "ab"), "6162");
    assert.equal(call("hex.decode", "6162"), "ab");
    fails("hex.decode", "ERR_REGO_BUILTIN", "encoding/hex: invalid byte: U+0067 'g'", "fg");
    fails("hex.decode", "ERR_REGO_BUILTIN", "encoding/hex: odd length hex string", "616");
  });

  it("urlquery follows Go's QueryEscape/QueryUnescape/ParseQuery", () => {
    assert.equal(call("urlquery.encode", "a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    assert.equal(call("urlquery.decode", "a+b%26c"), "a b&c");
    fails("urlquery.decode", "ERR_REGO_BUILTIN", 'invalid URL escape "%zz"', "%zz");
    fails("urlquery.decode", "ERR_REGO_BUILTIN", 'invalid URL escape "%"', "%");
    const o = call("urlquery.decode_object", "b=2&a=1&b=3&c") as ObjectValue;
    assert.deepEqual(o.get("b"), ["2", "3"]);
    assert.deepEqual(o.get("c"), [""]);
    fails("urlquery.decode_object", "ERR_REGO_BUILTIN", "invalid semicolon separator", "a=1;b=2");
    const obj = ObjectValue.fromRecord({ z: "1", a: ["x y", "z"], s: SetValue.of(["b", "a"]) });
    assert.equal(call("urlquery.encode_object", obj), "a=x+y&a=z&s=a&s=b&z=1");
    fails(
      "urlquery.encode_object",
      "ERR_REGO_TYPE",
      "operand 1 values must be string, array[string], or set[string]",
      ObjectValue.fromRecord({ a: 1 }),
    );
  });
});
