/**
 * Mutation fuzzing of the OCI JSON a registry (untrusted) serves: manifests, indexes, image
 * configs, simple-signing payloads, WWW-Authenticate challenges and the ocicrypt layer
 * annotations (pubopts, PLBCO, key-provider packets). Property: a value or an `OciError` with
 * a code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../test/helpers/fuzz.js";
import { OciError } from "./errors.js";
import { parseAnnotationPacket } from "./layer/kbs-annotation.js";
import { parsePrivateOptions, parsePublicOptions } from "./layer/ocicrypt.js";
import { parseImageConfig, parseManifestOrIndex } from "./manifest.js";
import { parseChallenge } from "./registry/auth.js";
import { createPayload, parsePayload } from "./signature/payload.js";

const D = `sha256:${"ab".repeat(32)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D, size: 10 },
  layers: [
    {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: D,
      size: 5,
      annotations: { a: "b" },
    },
  ],
  annotations: { "org.opencontainers.image.title": "x" },
};
const index = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: D,
      size: 7,
      platform: { os: "linux", architecture: "amd64", variant: "v8" },
    },
  ],
};
const config = {
  os: "linux",
  architecture: "amd64",
  config: {
    Env: ["PATH=/bin"],
    Cmd: ["sh"],
    User: "0:0",
    WorkingDir: "/",
    Labels: { a: "b" },
    ExposedPorts: { "80/tcp": {} },
  },
  rootfs: { type: "layers", diff_ids: [D] },
  history: [{ created_by: "x" }],
};
const json = (v: unknown) => new Uint8Array(Buffer.from(JSON.stringify(v) ?? "null"));

describe("OCI JSON regressions found by fuzzing", () => {
  // Found: a pubopts annotation of base64("null") threw a TypeError reading `cipher` of null.
  for (const v of ["null", "1", '"x"', "[]"]) {
    test(`a pubopts annotation decoding to ${v} is ERR_OCI_DECRYPT`, () => {
      assert.throws(
        () => parsePublicOptions(Buffer.from(v).toString("base64")),
        (e: unknown) => e instanceof OciError && e.code === "ERR_OCI_DECRYPT",
      );
    });
  }
});

describe("OCI JSON fuzzing", () => {
  test("mutated manifests, indexes and configs parse or throw a coded OciError", async (t) => {
    const seeds = [manifest, index, config];
    const stats = await fuzz({
      name: "oci-manifest",
      seed: 0x0c1,
      iterations: 6000,
      errorClass: OciError,
      gen: (rng) => {
        const which = rng.int(3);
        const base = seeds[which]!;
        const bytes = rng.chance(0.5) ? json(mutateJson(rng, base)) : mutate(rng, json(base));
        return {
          which,
          bytes,
          ct: rng.pick([undefined, "application/json", "", "text/plain; charset=x"]),
        };
      },
      show: (x) => `${x.which}: ${Buffer.from(x.bytes).toString("utf8").slice(0, 300)}`,
      target: ({ which, bytes, ct }) =>
        which === 2 ? parseImageConfig(bytes) : parseManifestOrIndex(bytes, ct),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated signature payloads parse or throw a coded OciError", async (t) => {
    const seed = createPayload("registry.example/app:1", D);
    const stats = await fuzz({
      name: "oci-sig-payload",
      seed: 0x0c2,
      iterations: 3000,
      errorClass: OciError,
      gen: (rng) =>
        rng.chance(0.5)
          ? json(mutateJson(rng, JSON.parse(Buffer.from(seed).toString())))
          : mutate(rng, seed),
      target: (b) =>
        parsePayload(b, ["atomic container signature", "cosign container image signature"]),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated ocicrypt annotations and PLBCO parse or throw a coded OciError", async (t) => {
    const pub = { cipher: "AES_256_CTR_HMAC_SHA256", hmac: Buffer.alloc(32, 1).toString("base64") };
    const plbco = {
      symkey: Buffer.alloc(32, 2).toString("base64"),
      cipheroptions: { nonce: Buffer.alloc(16, 3).toString("base64") },
      digest: D,
    };
    const packet = {
      kid: "kbs:///default/key/1",
      wrapped_data: "AAAA",
      iv: "AAAA",
      wrap_type: "A256GCM",
    };
    const stats = await fuzz({
      name: "oci-ocicrypt",
      seed: 0x0c3,
      iterations: 4000,
      errorClass: OciError,
      gen: (rng) => ({ which: rng.int(3), v: mutateJson(rng, rng.pick([pub, plbco, packet])) }),
      target: ({ which, v }) => {
        const bytes = json(v);
        if (which === 0) return parsePublicOptions(Buffer.from(bytes).toString("base64"));
        if (which === 1) return parsePrivateOptions(bytes);
        return parseAnnotationPacket(bytes);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("mutated WWW-Authenticate challenges parse without throwing uncoded errors", async (t) => {
    const seed = new Uint8Array(
      Buffer.from(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"',
      ),
    );
    const stats = await fuzz({
      name: "oci-challenge",
      seed: 0x0c4,
      iterations: 4000,
      errorClass: OciError,
      gen: (rng) => Buffer.from(mutate(rng, seed)).toString("latin1"),
      target: (h) => parseChallenge(h),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0);
  });
});
