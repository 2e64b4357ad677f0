import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import { fromJs, toJs } from "../value/json.js";
import type { Value } from "../value/value.js";
import { jwtBuiltins } from "./jwt.js";
import type { BuiltinContext } from "./types.js";

const NOW = 1_700_000_000n * 1_000_000_000n;
const ctx = (): BuiltinContext => ({ strict: true, nowNs: NOW, cache: new Map() });
const call = (name: string, ...args: Value[]) => {
  const def = jwtBuiltins[name];
  assert.ok(def, name);
  return def.fn(args, ctx());
};
const fails = (name: string, code: string, text: string, ...args: Value[]) =>
  assert.throws(
    () => call(name, ...args),
    (e: unknown) => e instanceof RegoError && e.code === code && e.message.includes(text),
  );
const v = (x: unknown) => fromJs(x);
const OCT = { kty: "oct", k: "c2VjcmV0" }; // "secret"

describe("io.jwt builtins", () => {
  it("round-trips HS256 through encode_sign, decode and decode_verify", () => {
    const token = call(
      "io.jwt.encode_sign",
      v({ alg: "HS256", typ: "JWT" }),
      v({ iss: "me", exp: 1_800_000_000 }),
      v(OCT),
    ) as string;
    assert.equal(call("io.jwt.verify_hs256", token, "secret"), true);
    assert.equal(call("io.jwt.verify_hs256", token, "wrong"), false);
    const [header, payload] = toJs(call("io.jwt.decode", token) as Value) as unknown[];
    assert.deepEqual(header, { alg: "HS256", typ: "JWT" });
    assert.deepEqual(payload, { exp: 1_800_000_000, iss: "me" });
    assert.deepEqual(
      toJs(call("io.jwt.decode_verify", token, v({ secret: "secret", iss: "me" })) as Value),
      [true, { alg: "HS256", typ: "JWT" }, { exp: 1_800_000_000, iss: "me" }],
    );
  });

  it("decode_verify reports expiry, not-before, audience and alg mismatches as unverified", () => {
    const sign = (claims: object) =>
      call("io.jwt.encode_sign", v({ alg: "HS256" }), v(claims), v(OCT)) as string;
    const unverified = [false, {}, {}];
    const dv = (t: string, c: object) => toJs(call("io.jwt.decode_verify", t, v(c)) as Value);
    assert.deepEqual(dv(sign({ exp: 1_600_000_000 }), { secret: "secret" }), unverified);
    assert.deepEqual(dv(sign({ nbf: 1_800_000_000 }), { secret: "secret" }), unverified);
    assert.deepEqual(dv(sign({ aud: ["a", "b"] }), { secret: "secret", aud: "c" }), unverified);
    assert.deepEqual(dv(sign({ aud: "a" }), { secret: "secret" }), unverified);
    assert.deepEqual(dv(sign({}), { secret: "secret", alg: "RS256" }), unverified);
    assert.deepEqual(dv(sign({}), { secret: "nope" }), unverified);
    fails(
      "io.jwt.decode_verify",
      "ERR_REGO_BUILTIN",
      "exp value must be a number",
      sign({ exp: "x" }),
      v({ secret: "secret" }),
    );
    fails("io.jwt.decode_verify", "ERR_REGO_BUILTIN", "no key constraint", sign({}), v({}));
    fails(
      "io.jwt.decode_verify",
      "ERR_REGO_BUILTIN",
      "duplicate key constraints",
      sign({}),
      v({ secret: "a", cert: '{"kty":"oct","k":"YQ"}' }),
    );
    fails(
      "io.jwt.decode_verify",
      "ERR_REGO_BUILTIN",
      "unknown token validation constraint: foo",
      sign({}),
      v({ secret: "a", foo: 1 }),
    );
  });

  it("verifies RS256/PS256/ES256/EdDSA against PEM public keys and JWKs, rejecting key-type confusion", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ed = generateKeyPairSync("ed25519");
    const cases: [string, typeof rsa][] = [
      ["RS256", rsa],
      ["PS256", rsa],
      ["ES256", ec],
      ["EdDSA", ed],
    ];
    for (const [alg, kp] of cases) {
      const jwk = kp.privateKey.export({ format: "jwk" });
      const token = call("io.jwt.encode_sign", v({ alg }), v({ sub: "x" }), v(jwk)) as string;
      const pem = kp.publicKey.export({ format: "pem", type: "spki" }) as string;
      const pubJwk = JSON.stringify(kp.publicKey.export({ format: "jwk" }));
      const name = `io.jwt.verify_${alg.toLowerCase()}`;
      assert.equal(call(name, token, pem), true, alg);
      assert.equal(call(name, token, pubJwk), true, alg);
      assert.deepEqual(
        (toJs(call("io.jwt.decode_verify", token, v({ cert: pem })) as Value) as unknown[])[0],
        true,
      );
      // Tampered payload.
      const [h, , s] = token.split(".");
      assert.equal(call(name, `${h}.eyJzdWIiOiJ5In0.${s}`, pem), false, alg);
    }
    // An HS256 token must not verify with an RSA public key used as an HMAC secret.
    const pem = rsa.publicKey.export({ format: "pem", type: "spki" }) as string;
    const forged = call(
      "io.jwt.encode_sign",
      v({ alg: "HS256" }),
      v({}),
      v({ kty: "oct", k: Buffer.from(pem).toString("base64url") }),
    ) as string;
    assert.deepEqual(
      (toJs(call("io.jwt.decode_verify", forged, v({ cert: pem })) as Value) as unknown[])[0],
      false,
    );
  });

  it("keeps parsed keys in the engine memo across queries but checks every signature", () => {
    const memo = new Map<string, unknown>();
    const q = (name: string, ...args: Value[]) =>
      jwtBuiltins[name]!.fn(args, { strict: true, nowNs: NOW, cache: new Map(), memo });
    const a = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const b = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwks = (kp: typeof a) =>
      JSON.stringify({ keys: [{ ...kp.publicKey.export({ format: "jwk" }), kid: "k1" }] });
    const sign = (kp: typeof a) =>
      call(
        "io.jwt.encode_sign",
        v({ alg: "ES256", kid: "k1" }),
        v({ iss: "t" }),
        v(kp.privateKey.export({ format: "jwk" })),
      ) as string;
    const ok = (t: string, keys: string) =>
      (toJs(q("io.jwt.decode_verify", t, v({ cert: keys })) as Value) as unknown[])[0];
    const ta = sign(a);
    assert.equal(ok(ta, jwks(a)), true);
    assert.equal(memo.size, 1);
    // Same key text, another token: the memoised key still verifies each signature.
    const [h, , s] = ta.split(".");
    assert.equal(ok(`${h}.eyJpc3MiOiJ4In0.${s}`, jwks(a)), false);
    assert.equal(ok(sign(b), jwks(a)), false);
    // A rotated key set is other text: parsed afresh, the old key does not answer for it.
    assert.equal(ok(ta, jwks(b)), false);
    assert.equal(ok(sign(b), jwks(b)), true);
    assert.equal(memo.size, 2);
    // Key errors are not memoised.
    assert.throws(() => q("io.jwt.verify_es256", ta, "{nope"), RegoError);
    assert.equal(memo.size, 2);
  });

  it("rejects malformed tokens and keys with OPA's texts", () => {
    fails("io.jwt.decode", "ERR_REGO_BUILTIN", "encoded JWT had no period separators", "abc");
    fails("io.jwt.decode", "ERR_REGO_BUILTIN", "encoded JWT must have 3 sections, found 2", "a.b");
    fails(
      "io.jwt.decode",
      "ERR_REGO_BUILTIN",
      "JWT header had invalid encoding: illegal base64 data at input byte 0",
      "*a.e30.",
    );
    fails("io.jwt.decode", "ERR_REGO_BUILTIN", "bad JWT header: invalid JSON", "bm90anNvbg.e30.");
    fails("io.jwt.decode", "ERR_REGO_BUILTIN", "JWT is a JWE object", "eyJlbmMiOiJ4In0.e30.");
    fails("io.jwt.decode", "ERR_REGO_TYPE", "operand 1 must be string", 5);
    // Many BEGIN lines without an END: scanned linearly, then reported as a bad key.
    const t0 = Date.now();
    fails(
      "io.jwt.verify_rs256",
      "ERR_REGO_BUILTIN",
      "failed to parse a JWK key (set)",
      "e30.e30.",
      "-----BEGIN X-----\n".repeat(20000),
    );
    assert.ok(Date.now() - t0 < 2000);
    fails(
      "io.jwt.decode",
      "ERR_REGO_BUILTIN",
      "encoded JWT longer than",
      `${"a".repeat(2_000_000)}.b.c`,
    );
    fails(
      "io.jwt.decode",
      "ERR_REGO_BUILTIN",
      "nested deeper than",
      `${Buffer.from("[".repeat(5000)).toString("base64url")}.e30.`,
    );
    fails(
      "io.jwt.verify_rs256",
      "ERR_REGO_BUILTIN",
      "failed to parse a JWK key (set)",
      "e30.e30.",
      "{nope",
    );
    fails(
      "io.jwt.verify_rs256",
      "ERR_REGO_BUILTIN",
      "failed to extract a Key from the PEM certificate",
      "e30.e30.",
      "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
    );
    fails(
      "io.jwt.verify_rs256",
      "ERR_REGO_BUILTIN",
      "extra data after a PEM certificate block",
      "e30.e30.",
      "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\nX",
    );
    fails(
      "io.jwt.encode_sign_raw",
      "ERR_REGO_BUILTIN",
      "unknown JWS algorithm: none",
      '{"alg":"none"}',
      "{}",
      JSON.stringify(OCT),
    );
    fails(
      "io.jwt.encode_sign_raw",
      "ERR_REGO_BUILTIN",
      "type is JWT but payload is not JSON",
      '{"alg":"HS256"}',
      "x",
      JSON.stringify(OCT),
    );
    fails(
      "io.jwt.encode_sign_raw",
      "ERR_REGO_BUILTIN",
      "failed to unmarshal JWK",
      '{"alg":"HS256"}',
      "{}",
      "",
    );
  });
});
