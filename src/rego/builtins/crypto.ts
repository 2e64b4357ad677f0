import { createHash, createHmac, createPrivateKey, timingSafeEqual } from "node:crypto";
import { fromJs } from "../value/json.js";
import type { Value } from "../value/value.js";
import { argString, builtinError } from "./args.js";
import { Base64Error, base64Decode, fromUtf8, STD, utf8 } from "./gobase64.js";
import { decodePem } from "./jws.js";
import type { BuiltinDef, BuiltinTable } from "./types.js";

const hash = (name: string, alg: string): BuiltinDef => ({
  arity: 1,
  fn: (args) =>
    createHash(alg)
      .update(utf8(argString(name, args, 0)))
      .digest("hex"),
});

const hmac = (name: string, alg: string): BuiltinDef => ({
  arity: 2,
  fn: (args) => {
    const x = argString(name, args, 0);
    const key = argString(name, args, 1);
    return createHmac(alg, utf8(key)).update(utf8(x)).digest("hex");
  },
});

/** OPA's `getStringFromPossibleBase64`: PEM text as is, anything else base64-decoded. */
export function pemOrBase64(name: string, input: string): string {
  if (input.startsWith("-----BEGIN")) return input;
  try {
    return fromUtf8(base64Decode(STD, utf8(input)));
  } catch (e) {
    if (e instanceof Base64Error) throw builtinError(name, e.message);
    throw e;
  }
}

/** All PEM blocks in `text`, in order. */
export function pemBlocks(text: string): { type: string; der: Uint8Array }[] {
  const out: { type: string; der: Uint8Array }[] = [];
  let rest = text;
  for (;;) {
    const b = decodePem(rest);
    if (!b) return out;
    out.push({ type: b.type, der: b.der });
    rest = b.rest;
  }
}

/** A private key PEM block as a JWK object (RSA, EC or OKP). */
function privateJwk(name: string, block: { type: string; der: Uint8Array }): Value {
  const type =
    block.type === "RSA PRIVATE KEY" ? "pkcs1" : block.type === "EC PRIVATE KEY" ? "sec1" : "pkcs8";
  try {
    const key = createPrivateKey({ key: Buffer.from(block.der), format: "der", type });
    return fromJs(key.export({ format: "jwk" }));
  } catch (e) {
    throw builtinError(name, `failed to parse private key: ${(e as Error).message}`);
  }
}

/** `crypto.*` hashes, HMACs and private-key parsing (x509 parsing is in ./x509.ts). */
export const cryptoBuiltins: BuiltinTable = {
  "crypto.md5": hash("crypto.md5", "md5"),
  "crypto.sha1": hash("crypto.sha1", "sha1"),
  "crypto.sha256": hash("crypto.sha256", "sha256"),
  "crypto.hmac.md5": hmac("crypto.hmac.md5", "md5"),
  "crypto.hmac.sha1": hmac("crypto.hmac.sha1", "sha1"),
  "crypto.hmac.sha256": hmac("crypto.hmac.sha256", "sha256"),
  "crypto.hmac.sha512": hmac("crypto.hmac.sha512", "sha512"),
  "crypto.hmac.equal": {
    arity: 2,
    fn: (args) => {
      const a = utf8(argString("crypto.hmac.equal", args, 0));
      const b = utf8(argString("crypto.hmac.equal", args, 1));
      // Constant time for equal lengths, as Go's hmac.Equal.
      return a.length === b.length && timingSafeEqual(a, b);
    },
  },
  "crypto.x509.parse_rsa_private_key": {
    arity: 1,
    fn: (args) => {
      const name = "crypto.x509.parse_rsa_private_key";
      const pem = pemOrBase64(name, argString(name, args, 0));
      const block = decodePem(pem);
      if (!block || (block.type !== "RSA PRIVATE KEY" && block.type !== "PRIVATE KEY")) {
        throw builtinError(name, "failed to parse PEM block containing the key");
      }
      const jwk = privateJwk(name, block);
      const kty =
        jwk !== null && typeof jwk === "object" && !Array.isArray(jwk) && "get" in jwk
          ? jwk.get("kty")
          : undefined;
      if (kty !== "RSA") throw builtinError(name, "private key is not an RSA key");
      return jwk;
    },
  },
  "crypto.parse_private_keys": {
    arity: 1,
    fn: (args) => {
      const name = "crypto.parse_private_keys";
      const input = argString(name, args, 0);
      if (input === "") return null;
      const text = pemOrBase64(name, input);
      if (text === "") return [];
      return pemBlocks(text)
        .filter((b) => b.type.endsWith("PRIVATE KEY"))
        .map((b) => privateJwk(name, b));
    },
  },
};
