import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { hasCode } from "../../errors.js";
import { decryptCosignKey } from "../signature/cosign-key.js";
import { parsePayload } from "../signature/payload.js";
import { parsePolicy } from "../signature/policy.js";
import {
  parseAnnotationPacket,
  unwrapAnnotationPacket,
  wrapAnnotationPacket,
} from "./kbs-annotation.js";
import { unwrapLayerKey } from "./keys.js";
import {
  parsePrivateOptions,
  parsePublicOptions,
  serializePrivateOptions,
  serializePublicOptions,
} from "./ocicrypt.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("untrusted option parsers refuse garbage, truncation and wrong sizes", () => {
  test("pubopts", () => {
    const good = serializePublicOptions(randomBytes(32));
    assert.equal(parsePublicOptions(good).hmac.length, 32);
    for (const bad of [
      undefined,
      "!!!",
      b64("{"),
      good.slice(0, 20),
      b64('{"cipher":"AES_256_CTR_HMAC_SHA256"}'),
      b64('{"cipher":"AES_256_CTR_HMAC_SHA256","hmac":"AAAA"}'),
      b64('{"cipher":"ROT13","hmac":"AAAA"}'),
    ]) {
      assert.throws(
        () => parsePublicOptions(bad),
        (e) => hasCode(e, "ERR_OCI_DECRYPT"),
        String(bad).slice(0, 40),
      );
    }
  });
  test("private layer options", () => {
    const good = serializePrivateOptions({
      symkey: randomBytes(32),
      nonce: randomBytes(16),
      digest: "sha256:x",
    });
    assert.equal(parsePrivateOptions(good).symkey.length, 32);
    for (const bad of [
      "",
      "null",
      "{",
      '{"symkey":"AAAA","cipheroptions":{"nonce":"AAAA"}}',
      good.subarray(0, good.length - 3).toString(),
    ]) {
      assert.throws(
        () => parsePrivateOptions(Buffer.from(bad)),
        (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY") || hasCode(e, "ERR_OCI_DECRYPT"),
        bad.slice(0, 40),
      );
    }
  });
  test("annotation packets and their unwrap", async () => {
    const kek = randomBytes(32);
    const packet = wrapAnnotationPacket(Buffer.from("plbco"), kek, "kbs:///default/key/1");
    assert.equal(
      Buffer.from(await unwrapAnnotationPacket(packet, async () => kek)).toString(),
      "plbco",
    );
    for (const bad of ["", "[]", '{"kid":1}', Buffer.from(packet).subarray(0, 30).toString()]) {
      assert.throws(
        () => parseAnnotationPacket(Buffer.from(bad)),
        (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
      );
    }
    const p = JSON.parse(Buffer.from(packet).toString());
    await assert.rejects(
      unwrapAnnotationPacket(
        Buffer.from(JSON.stringify({ ...p, provider: "aliyun" })),
        async () => kek,
      ),
      (e) => hasCode(e, "ERR_OCI_NOT_IMPLEMENTED"),
    );
    await assert.rejects(
      unwrapAnnotationPacket(Buffer.from(JSON.stringify({ ...p, iv: "AAAA" })), async () => kek),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
    );
    await assert.rejects(
      unwrapAnnotationPacket(packet, async () => randomBytes(16)),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
    );
  });
  test("a layer with recipients we hold no key for names what is missing", async () => {
    await assert.rejects(
      unwrapLayerKey({ "org.opencontainers.image.enc.keys.pgp": "x" }, {}),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY") && /pgp/.test((e as Error).message),
    );
  });
  test("signature payloads", () => {
    const ok = {
      critical: {
        identity: { "docker-reference": "a/b" },
        image: { "docker-manifest-digest": "sha256:0" },
        type: "atomic container signature",
      },
    };
    assert.equal(
      parsePayload(Buffer.from(JSON.stringify(ok)), ["atomic container signature"]).dockerReference,
      "a/b",
    );
    for (const bad of [
      "",
      "{",
      "{}",
      JSON.stringify({ critical: { ...ok.critical, type: "other" } }),
      "x".repeat(1024 * 1024 + 1),
    ]) {
      assert.throws(
        () => parsePayload(Buffer.from(bad), ["atomic container signature"]),
        (e) => hasCode(e, "ERR_OCI_SIGNATURE"),
      );
    }
  });
  test("policy size limit and cosign key garbage", () => {
    assert.throws(
      () => parsePolicy(Buffer.alloc(4 * 1024 * 1024 + 1, 32)),
      (e) => hasCode(e, "ERR_OCI_POLICY"),
    );
    for (const bad of [
      "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----",
      `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n${b64('{"kdf":{"name":"pbkdf2"}}')}\n-----END ENCRYPTED COSIGN PRIVATE KEY-----`,
      `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n${b64('{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1}},"cipher":{"name":"nacl/secretbox"}}')}\n-----END ENCRYPTED COSIGN PRIVATE KEY-----`,
    ]) {
      assert.throws(
        () => decryptCosignKey(bad, "pw"),
        (e) => hasCode(e, "ERR_OCI_SIGNATURE"),
      );
    }
  });
});
