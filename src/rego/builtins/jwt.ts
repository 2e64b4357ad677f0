import { compareNumbers, isNumber, ObjectValue, type Value } from "../value/value.js";
import { argObject, argString, builtinError, operandError } from "./args.js";
import {
  Base64Error,
  base64Decode,
  base64Encode,
  fromUtf8,
  hexEncode,
  RAW_URL,
  URL,
  utf8,
} from "./gobase64.js";
import { goJson, parseGoJson } from "./gojson.js";
import {
  JWS_ALGORITHMS,
  jwsSign,
  jwsVerify,
  KeyMaterialError,
  keysFromCertOrJwk,
  parseJwkSet,
  type VerificationKey,
} from "./jws.js";
import type { BuiltinContext, BuiltinDef, BuiltinTable } from "./types.js";

/** Largest token accepted, so a hostile input cannot make decoding allocate without bound. */
const MAX_TOKEN = 1024 * 1024;

/** A failure that OPA reports as `eval_builtin_error` with this text. */
class JwtError extends Error {}

interface Token {
  header: string;
  payload: string;
  signature: string;
}

/** OPA's `decodeJWT`: three dot-separated parts. */
function splitToken(name: string, v: Value): Token {
  if (typeof v !== "string") throw operandError(name, 1, "string", v);
  if (v.length > MAX_TOKEN) throw new JwtError(`encoded JWT longer than ${MAX_TOKEN} bytes`);
  if (!v.includes(".")) throw new JwtError("encoded JWT had no period separators");
  const parts = v.split(".");
  if (parts.length !== 3)
    throw new JwtError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

/** Unpadded base64url text whose length can be a whole encoding (not 4n+1). */
const PLAIN_B64URL = /^[A-Za-z0-9_-]*$/;

/** `base64url.decode` semantics (padding restored), as OPA reuses that builtin. */
function b64urlBytes(s: string): Uint8Array {
  // The common case (every JWT part a conforming encoder writes): Node's decoder gives the
  // same bytes as Go's non-strict one for clean alphabet text (both ignore the unused low
  // bits of the last character). Anything else takes Go's decoder for its exact errors.
  if (s.length % 4 !== 1 && PLAIN_B64URL.test(s)) return Buffer.from(s, "base64url");
  if (!s.endsWith("=")) {
    const r = utf8(s).length % 4;
    if (r === 2) s += "==";
    else if (r === 3) s += "=";
    else if (r === 1) throw new JwtError(`illegal base64url string: ${s}`);
  }
  try {
    return base64Decode(URL, utf8(s));
  } catch (e) {
    if (e instanceof Base64Error) throw new JwtError(e.message);
    throw e;
  }
}

function jsonObject(s: string): ObjectValue {
  let v: Value;
  try {
    v = parseGoJson(s);
  } catch (e) {
    throw new JwtError(`invalid JSON: ${(e as Error).message}`);
  }
  if (!(v instanceof ObjectValue)) throw new JwtError("decoded JSON type was not an Object");
  return v;
}

function wrap(prefix: string, f: () => Uint8Array): Uint8Array {
  try {
    return f();
  } catch (e) {
    if (e instanceof JwtError) throw new JwtError(`${prefix}: ${e.message}`);
    throw e;
  }
}

function decodeHeader(t: Token): ObjectValue {
  const raw = fromUtf8(wrap("JWT header had invalid encoding", () => b64urlBytes(t.header)));
  let h: ObjectValue;
  try {
    h = jsonObject(raw);
  } catch (e) {
    throw new JwtError(`bad JWT header: ${(e as Error).message}`);
  }
  if (h.has("enc")) throw new JwtError("JWT is a JWE object, which is not supported");
  return h;
}

/** `io.jwt.decode`: [header, payload, signature hex], following `cty: JWT` nesting. */
function decode(name: string, v: Value, depth = 0): Value {
  if (depth > 32) throw new JwtError("JWT nested too deeply");
  const t = splitToken(name, v);
  const header = decodeHeader(t);
  let p = fromUtf8(wrap("JWT payload had invalid encoding", () => b64urlBytes(t.payload)));
  if (header.get("cty") === "JWT") {
    p = p.replace(/^["']+|["']+$/g, "");
    return decode(name, p, depth + 1);
  }
  const payload = jsonObject(p);
  const sig = wrap("JWT signature had invalid encoding", () => b64urlBytes(t.signature));
  return [header, payload, hexEncode(sig)];
}

/**
 * Parsed key argument. PEM/JWK import is the costly part (about as much as an ES256
 * verification), so the immutable result is kept in the engine-wide memo across queries, as
 * OPA's inter-query cache keeps parsed keys; the key is the exact text, so a different or
 * rotated key set is parsed afresh. Errors are not memoised (they are rethrown each time).
 */
function keysFor(text: string, ctx: BuiltinContext): VerificationKey[] {
  const k = `jwt-keys:${text}`;
  const memo = ctx.memo ?? ctx.cache;
  const hit = memo.get(k);
  if (hit) return hit as VerificationKey[];
  let keys: VerificationKey[];
  try {
    keys = keysFromCertOrJwk(text);
  } catch (e) {
    if (e instanceof KeyMaterialError) throw new JwtError(e.message);
    throw e;
  }
  memo.set(k, keys);
  return keys;
}

/** The `io.jwt.verify_<alg>` family with a certificate, public key or JWK (set). */
function verifyWithKeys(
  name: string,
  alg: string,
  args: readonly Value[],
  ctx: BuiltinContext,
): boolean {
  const t = splitToken(name, args[0] as Value);
  const keyText = argString(name, args, 1);
  const keys = keysFor(keyText, ctx);
  const sig = b64urlBytes(t.signature);
  const header = decodeHeader(t);
  const kid = header.get("kid");
  const halg = header.get("alg");
  const data = utf8(`${t.header}.${t.payload}`);
  if (typeof kid === "string" && kid !== "") {
    const k = keys.find((x) => x.kid === kid);
    if (k) return jwsVerify(k.key, alg, data, sig);
  }
  for (const k of keys) {
    if (k.alg !== "" && k.alg !== halg) continue;
    if (jwsVerify(k.key, alg, data, sig)) return true;
  }
  return false;
}

function verifyHs(name: string, alg: string, args: readonly Value[]): boolean {
  const jwt = argString(name, args, 0);
  const secret = argString(name, args, 1);
  const t = splitToken(name, jwt);
  const sig = b64urlBytes(t.signature);
  return jwsVerify(utf8(secret), alg, utf8(`${t.header}.${t.payload}`), sig);
}

interface Constraints {
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  keys: VerificationKey[] | undefined;
  time: number;
}

function timeConstraint(v: Value): number {
  if (!isNumber(v)) throw new JwtError("token time constraint: must be a number");
  const f = Number(v);
  if (f < 0) throw new JwtError("token time constraint: must not be negative");
  return f;
}

function parseConstraints(o: ObjectValue, ctx: BuiltinContext): Constraints {
  const c: Constraints = { secret: "", alg: "", iss: "", aud: "", keys: undefined, time: -1 };
  for (const [k, v] of o.sorted()) {
    const key = typeof k === "string" ? k : goJson(k);
    switch (key) {
      case "cert":
        if (typeof v !== "string") throw new JwtError("cert constraint: must be a string");
        c.keys = keysFor(v, ctx);
        break;
      case "secret":
      case "alg":
      case "iss":
      case "aud":
        if (typeof v !== "string") throw new JwtError(`${key} constraint: must be a string`);
        c[key] = v;
        break;
      case "time":
        c.time = timeConstraint(v);
        break;
      default:
        throw new JwtError(`unknown token validation constraint: ${key}`);
    }
  }
  if (c.time === -1) c.time = timeConstraint(Number(ctx.nowNs));
  const n = (c.keys ? 1 : 0) + (c.secret !== "" ? 1 : 0);
  if (n > 1) throw new JwtError("duplicate key constraints");
  if (n < 1) throw new JwtError("no key constraint");
  return c;
}

/** Header fields that matter for validation (RFC 7515 §4.1), as OPA parses them. */
function parseHeader(h: ObjectValue): { alg: string; kid: string; cty: string; valid: boolean } {
  const out = { alg: "", kid: "", cty: "", valid: true };
  let crit: Set<string> | undefined;
  const unknown: string[] = [];
  for (const [k, v] of h.sorted()) {
    const key = k as string;
    if (key === "alg" || key === "kid" || key === "typ" || key === "cty") {
      if (typeof v !== "string") throw new JwtError(`${key}: must be a string`);
      if (key !== "typ") out[key] = v;
    } else if (key === "crit") {
      if (!Array.isArray(v)) throw new JwtError("crit: must be a list");
      crit = new Set(v.filter((x): x is string => typeof x === "string"));
      if (crit.size === 0) throw new JwtError("crit: must be a nonempty list");
    } else unknown.push(key);
  }
  if (out.alg === "") out.valid = false;
  if (crit && unknown.some((u) => crit.has(u))) out.valid = false;
  return out;
}

function checkSignature(
  c: Constraints,
  kid: string,
  alg: string,
  data: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (c.keys) {
    if (kid !== "") {
      const k = c.keys.find((x) => x.kid === kid);
      if (k) return jwsVerify(k.key, alg, data, sig);
    }
    return c.keys.some((k) => (k.alg === "" || k.alg === alg) && jwsVerify(k.key, alg, data, sig));
  }
  return jwsVerify(utf8(c.secret), alg, data, sig);
}

const UNVERIFIED: Value = Object.freeze([false, new ObjectValue(), new ObjectValue()]);

/** `io.jwt.decode_verify`: [valid, header, payload] after signature and claim checks. */
function decodeVerify(args: readonly Value[], ctx: BuiltinContext): Value {
  const name = "io.jwt.decode_verify";
  const c = parseConstraints(argObject(name, args, 1), ctx);
  let a: Value = args[0] as Value;
  let header: ObjectValue;
  let p: string;
  for (let depth = 0; ; depth++) {
    if (depth > 32) throw new JwtError("JWT nested too deeply");
    const t = splitToken(name, a);
    header = decodeHeader(t);
    const h = parseHeader(header);
    if (!h.valid) return UNVERIFIED;
    if (c.alg !== "" && c.alg !== h.alg) return UNVERIFIED;
    const sig = b64urlBytes(t.signature);
    if (!checkSignature(c, h.kid, h.alg, utf8(`${t.header}.${t.payload}`), sig)) return UNVERIFIED;
    p = fromUtf8(wrap("JWT payload had invalid encoding", () => b64urlBytes(t.payload)));
    if (h.cty.toLowerCase() === "jwt") {
      a = p;
      continue;
    }
    break;
  }
  const payload = jsonObject(p);
  if (c.iss !== "") {
    if (payload.get("iss") !== c.iss) return UNVERIFIED;
  }
  const aud = payload.get("aud");
  if (aud !== undefined) {
    const ok =
      typeof aud === "string" ? aud === c.aud : Array.isArray(aud) && aud.some((x) => x === c.aud);
    if (!ok) return UNVERIFIED;
  } else if (c.aud !== "") return UNVERIFIED;
  const now = c.time / 1e9;
  const exp = payload.get("exp");
  if (exp !== undefined) {
    if (!isNumber(exp)) throw new JwtError("exp value must be a number");
    if (compareNumbers(now, exp) !== -1) return UNVERIFIED;
  }
  const nbf = payload.get("nbf");
  if (nbf !== undefined) {
    if (!isNumber(nbf)) throw new JwtError("nbf value must be a number");
    if (compareNumbers(now, nbf) === -1) return UNVERIFIED;
  }
  return [true, header, payload];
}

/** `jwsbb.HeaderGetString(HeaderParse(h), "alg")` with jwx's error texts. */
function headerAlg(h: string): { alg: string; typ: string | undefined } {
  if (h.length === 0)
    throw new JwtError(
      "missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string",
    );
  let doc: Value | undefined;
  try {
    doc = parseGoJson(h);
  } catch {
    if (h.trimStart().startsWith("{"))
      throw new JwtError("missing or invalid 'alg' header: cannot parse JSON");
  }
  const o = doc instanceof ObjectValue ? doc : undefined;
  const alg = o?.get("alg");
  if (typeof alg !== "string")
    throw new JwtError(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
  const typ = o?.get("typ");
  return { alg, typ: typeof typ === "string" ? typ : undefined };
}

function isJson(s: string): boolean {
  try {
    parseGoJson(s);
    return true;
  } catch {
    return false;
  }
}

/** OPA's `commonBuiltinJWTEncodeSign`: signs `headers.payload` with the first JWK. */
function encodeSign(headers: string, payload: string, jwk: string): string {
  let keys: VerificationKey[];
  try {
    keys = parseJwkSet(jwk, true);
  } catch (e) {
    if (e instanceof KeyMaterialError) throw new JwtError(e.message);
    throw e;
  }
  const key = keys[0];
  if (!key) throw new JwtError("no keys found in JWK set");
  const { alg, typ } = headerAlg(headers);
  if (!JWS_ALGORITHMS.has(alg)) throw new JwtError(`unknown JWS algorithm: ${alg}`);
  if ((typ === undefined || typ === "JWT") && !isJson(payload)) {
    throw new JwtError("type is JWT but payload is not JSON");
  }
  const input = `${base64Encode(RAW_URL, utf8(headers))}.${base64Encode(RAW_URL, utf8(payload))}`;
  let sig: Uint8Array;
  try {
    sig = jwsSign(key.key, alg, utf8(input));
  } catch (e) {
    if (e instanceof KeyMaterialError) throw new JwtError(e.message);
    throw e;
  }
  return `${input}.${base64Encode(RAW_URL, sig)}`;
}

/** Runs a builtin body, turning JwtError into OPA's `eval_builtin_error`. */
function jwt(
  name: string,
  arity: number,
  f: (args: readonly Value[], ctx: BuiltinContext) => Value,
): BuiltinDef {
  return {
    arity,
    fn: (args, ctx) => {
      try {
        return f(args, ctx);
      } catch (e) {
        if (e instanceof JwtError) throw builtinError(name, e.message);
        throw e;
      }
    },
  };
}

const table: Record<string, BuiltinDef> = {
  "io.jwt.decode": jwt("io.jwt.decode", 1, ([t]) => decode("io.jwt.decode", t as Value)),
  "io.jwt.decode_verify": jwt("io.jwt.decode_verify", 2, decodeVerify),
  "io.jwt.encode_sign": jwt("io.jwt.encode_sign", 3, ([h, p, k]) =>
    encodeSign(goJson(h as Value), goJson(p as Value), goJson(k as Value)),
  ),
  "io.jwt.encode_sign_raw": jwt("io.jwt.encode_sign_raw", 3, (args) => {
    const name = "io.jwt.encode_sign_raw";
    const k = argString(name, args, 2);
    return encodeSign(argString(name, args, 0), argString(name, args, 1), k);
  }),
};
for (const alg of [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
]) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  table[name] = jwt(name, 2, (args, ctx) => verifyWithKeys(name, alg, args, ctx));
}
for (const alg of ["HS256", "HS384", "HS512"]) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  table[name] = jwt(name, 2, (args) => verifyHs(name, alg, args));
}

/** `io.jwt.*`: decode, decode_verify, verify_<alg>, encode_sign(_raw). */
export const jwtBuiltins: BuiltinTable = table;
