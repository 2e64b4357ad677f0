import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { evidenceCodeOf as codeOf } from "../../../../../test/helpers/evidence-code.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { decodeCbor, encodeCbor } from "../../../../crypto/cbor.js";
import { COSE_ALGS, parseCoseSign1, signCoseSign1 } from "../../../../crypto/cose.js";
import { parseCcaEvidence, parseCcaToken } from "../../../../tee/cca/index.js";
import {
  createCcaVerifier,
  parseCcaReferenceValues,
  parseCcaTrustAnchors,
  verifyCcaToken,
} from "./index.js";

const F = "fixtures/evidence/cca/";
const skip = sharedSkip(`${F}cca-example-token.cbor`);
const read = (n: string) => new Uint8Array(readFileSync(sharedPath(F + n)));
const text = (n: string) => readFileSync(sharedPath(F + n), "utf8");

function stores() {
  return {
    trustAnchors: parseCcaTrustAnchors(text("tastore.json")),
    referenceValues: parseCcaReferenceValues(text("rvstore.json")),
  };
}

test("the real CCA token verifies against its CPAK and platform reference values", { skip }, () => {
  const token = parseCcaToken(read("cca-example-token.cbor"));
  const challenge = token.realmClaims.challenge;
  const claims = verifyCcaToken(token, {
    ...stores(),
    expectedReportData: challenge,
    expectedInitDataHash: new Uint8Array(64),
  });
  const ta = JSON.parse(text("tastore.json"))[0];
  const rv = JSON.parse(text("rvstore.json"));
  const b64 = (h: string) => Buffer.from(h, "hex").toString("base64");
  const platform = claims.platform as Record<string, string>;
  const realm = claims.realm as Record<string, unknown>;
  assert.equal(platform["cca-platform-instance-id"], b64(ta["instance-id"]));
  assert.equal(platform["cca-platform-implementation-id"], b64(ta["implementation-id"]));
  assert.equal(realm["cca-realm-initial-measurement"], b64(rv.realm[0]["initial-measurement"]));
  assert.deepEqual(
    realm["cca-realm-extensible-measurements"],
    rv.realm[0]["extensible-measurements"].map(b64),
  );
  assert.equal(realm["cca-realm-hash-algo-id"], "sha-512");
  assert.equal(claims.report_data, Buffer.from(challenge).toString("hex"));
  assert.equal(claims.init_data, "00".repeat(64));
});

test("claim names are upstream's (the kebab-case names of its cca-claims.json)", { skip }, () => {
  const upstream = JSON.parse(text("cca-claims.json"));
  const claims = verifyCcaToken(parseCcaToken(read("cca-example-token.cbor")), stores());
  assert.deepEqual(Object.keys(claims).sort(), Object.keys(upstream).sort());
  for (const k of Object.keys(claims.realm as object)) assert.ok(k in upstream.realm, k);
  for (const k of Object.keys(claims.platform as object)) assert.ok(k in upstream.platform, k);
  // Upstream's claim set keeps only the realm values and the platform identity.
  assert.equal(Object.keys(claims.realm as object).length, 5);
  assert.equal(Object.keys(claims.platform as object).length, 2);
});

test("every single-byte flip of the real token is refused, signed bytes by their signature", {
  skip,
}, () => {
  const bytes = read("cca-example-token.cbor");
  const s = stores();
  const challenge = parseCcaToken(bytes).realmClaims.challenge;
  const hist = new Map<string, number>();
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes.slice();
    b[i] = (b[i] as number) ^ 0x01;
    const code = codeOf(() =>
      verifyCcaToken(parseCcaToken(b), { ...s, expectedReportData: challenge }),
    );
    assert.ok(code !== undefined, `flip at byte ${i} verified`);
    hist.set(code, (hist.get(code) ?? 0) + 1);
  }
  // Each signature's own bytes: flipping them must fail that signature.
  const sig = (label: number) => {
    const coll = decodeCbor(bytes, "t", { tags: [399] }) as { value: Map<number, Uint8Array> };
    const tok = coll.value.get(label) as Uint8Array;
    const msg = parseCoseSign1(tok, "t");
    const at = Buffer.from(bytes).indexOf(Buffer.from(msg.signature));
    return at;
  };
  for (const [label, code] of [
    [44234, "ERR_SIGNATURE"],
    [44241, "ERR_REALM_SIGNATURE"],
  ] as const) {
    const at = sig(label);
    for (const off of [0, 47, 95]) {
      const b = bytes.slice();
      b[at + off] = (b[at + off] as number) ^ 0x80;
      assert.equal(
        codeOf(() => verifyCcaToken(parseCcaToken(b), s)),
        code,
      );
    }
  }
  assert.ok((hist.get("ERR_SIGNATURE") ?? 0) > 1000, JSON.stringify([...hist]));
  assert.ok((hist.get("ERR_REALM_SIGNATURE") ?? 0) > 300, JSON.stringify([...hist]));
});

test("a realm challenge that is not the expected report data is refused", { skip }, () => {
  const token = parseCcaToken(read("cca-example-token.cbor"));
  const rd = token.realmClaims.challenge.slice();
  rd[63] = (rd[63] as number) ^ 1;
  assert.equal(
    codeOf(() => verifyCcaToken(token, { ...stores(), expectedReportData: rd })),
    "ERR_REPORT_DATA_MISMATCH",
  );
  // A 48-byte digest is zero-padded to 64 before the comparison (regularize).
  assert.equal(
    codeOf(() => verifyCcaToken(token, { ...stores(), expectedReportData: rd.subarray(0, 48) })),
    "ERR_REPORT_DATA_MISMATCH",
  );
});

test("a personalization value that is not the init-data digest is refused", { skip }, () => {
  const token = parseCcaToken(read("cca-example-token.cbor"));
  const init = new Uint8Array(64);
  init[0] = 1;
  assert.equal(
    codeOf(() => verifyCcaToken(token, { ...stores(), expectedInitDataHash: init })),
    "ERR_INIT_DATA_MISMATCH",
  );
  // Upstream compares exactly: a 32-byte digest never equals the 64-byte RPV.
  assert.equal(
    codeOf(() => verifyCcaToken(token, { ...stores(), expectedInitDataHash: new Uint8Array(32) })),
    "ERR_INIT_DATA_MISMATCH",
  );
});

test("an unknown platform instance or a wrong CPAK is refused", { skip }, () => {
  const token = parseCcaToken(read("cca-example-token.cbor"));
  const ta = JSON.parse(text("tastore.json"));
  const other = structuredClone(ta);
  other[0]["instance-id"] = `${other[0]["instance-id"].slice(0, -2)}19`;
  assert.equal(
    codeOf(() =>
      verifyCcaToken(token, { trustAnchors: parseCcaTrustAnchors(JSON.stringify(other)) }),
    ),
    "ERR_CERT_ROOT",
  );
  const wrongImpl = structuredClone(ta);
  wrongImpl[0]["implementation-id"] = `${wrongImpl[0]["implementation-id"].slice(0, -2)}01`;
  assert.equal(
    codeOf(() =>
      verifyCcaToken(token, { trustAnchors: parseCcaTrustAnchors(JSON.stringify(wrongImpl)) }),
    ),
    "ERR_CERT_ROOT",
  );
  const wrongKey = structuredClone(ta);
  wrongKey[0].pkey = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({
    format: "jwk",
  });
  assert.equal(
    codeOf(() =>
      verifyCcaToken(token, { trustAnchors: parseCcaTrustAnchors(JSON.stringify(wrongKey)) }),
    ),
    "ERR_SIGNATURE",
  );
});

test("platform firmware that matches no reference value is refused", { skip }, () => {
  const token = parseCcaToken(read("cca-example-token.cbor"));
  const rv = JSON.parse(text("rvstore.json"));
  const mv: string = rv.platform[0]["sw-components"][3]["measurement-value"];
  rv.platform[0]["sw-components"][3]["measurement-value"] =
    `${mv.slice(0, -2)}${mv.endsWith("00") ? "01" : "00"}`;
  const s = {
    trustAnchors: stores().trustAnchors,
    referenceValues: parseCcaReferenceValues(JSON.stringify(rv)),
  };
  assert.equal(
    codeOf(() => verifyCcaToken(token, s)),
    "ERR_MEASUREMENT_MISMATCH",
  );
  const cfg = JSON.parse(text("rvstore.json"));
  cfg.platform[0]["platform-configuration"] = "cfcfcfce";
  assert.equal(
    codeOf(() =>
      verifyCcaToken(token, {
        trustAnchors: s.trustAnchors,
        referenceValues: parseCcaReferenceValues(JSON.stringify(cfg)),
      }),
    ),
    "ERR_MEASUREMENT_MISMATCH",
  );
});

/** Re-signs the real token's claims under keys made here, with edits, to reach each binding. */
function resign(opts: { lifecycle?: number; badBinding?: boolean }) {
  const bytes = read("cca-example-token.cbor");
  const coll = decodeCbor(bytes, "t", { tags: [399] }) as { value: Map<number, Uint8Array> };
  const pMsg = parseCoseSign1(coll.value.get(44234) as Uint8Array, "p");
  const rMsg = parseCoseSign1(coll.value.get(44241) as Uint8Array, "r");
  const cpak = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const rak = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const jwk = rak.publicKey.export({ format: "jwk" });
  const rakRaw = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x as string, "base64url"),
    Buffer.from(jwk.y as string, "base64url"),
  ]);
  const realm = decodeCbor(rMsg.payload, "r") as Map<number, unknown>;
  realm.set(44237, new Uint8Array(rakRaw));
  const platform = decodeCbor(pMsg.payload, "p") as Map<number, unknown>;
  const hash = new Uint8Array(createHash("sha256").update(rakRaw).digest());
  if (opts.badBinding) hash[5] = (hash[5] as number) ^ 1;
  platform.set(10, hash);
  if (opts.lifecycle !== undefined) platform.set(2395, opts.lifecycle);
  const p = signCoseSign1(encodeCbor(platform), COSE_ALGS.ES384, cpak.privateKey as KeyObject);
  const r = signCoseSign1(encodeCbor(realm), COSE_ALGS.ES384, rak.privateKey as KeyObject);
  const body = encodeCbor(
    new Map([
      [44234, p],
      [44241, r],
    ]),
  );
  const token = new Uint8Array([0xd9, 0x01, 0x8f, ...body]);
  const ta = JSON.parse(text("tastore.json"));
  ta[0].pkey = cpak.publicKey.export({ format: "jwk" });
  return { token, trustAnchors: parseCcaTrustAnchors(JSON.stringify(ta)) };
}

test("a platform challenge that is not the hash of the RAK is refused (re-signed token)", {
  skip,
}, () => {
  const good = resign({});
  assert.equal(
    codeOf(() => verifyCcaToken(parseCcaToken(good.token), good)),
    undefined,
  );
  const bad = resign({ badBinding: true });
  assert.equal(
    codeOf(() => verifyCcaToken(parseCcaToken(bad.token), bad)),
    "ERR_KEY_BINDING",
  );
});

test("a platform outside the secured lifecycle is refused unless allowed", { skip }, () => {
  const debug = resign({ lifecycle: 0x5001 });
  assert.equal(
    codeOf(() => verifyCcaToken(parseCcaToken(debug.token), debug)),
    "ERR_LIFECYCLE",
  );
  assert.equal(
    codeOf(() =>
      verifyCcaToken(parseCcaToken(debug.token), { ...debug, allowUnsecuredLifecycle: true }),
    ),
    undefined,
  );
  // 0x3100 is not a PSA lifecycle value at all: a parse error.
  const invalid = resign({ lifecycle: 0x3100 });
  assert.equal(
    codeOf(() => parseCcaToken(invalid.token)),
    "ERR_EVIDENCE_MALFORMED",
  );
});

test("the parser refuses truncated, oversized and garbage tokens with coded errors", {
  skip,
}, () => {
  const bytes = read("cca-example-token.cbor");
  for (let n = 0; n < bytes.length; n += 7) {
    assert.ok(
      codeOf(() => parseCcaToken(bytes.subarray(0, n))),
      `truncated at ${n} parsed`,
    );
  }
  assert.equal(
    codeOf(() => parseCcaToken(new Uint8Array(70000))),
    "ERR_EVIDENCE_OVERSIZE",
  );
  assert.equal(
    codeOf(() => parseCcaToken(new TextEncoder().encode("{}"))),
    "ERR_EVIDENCE_MALFORMED",
  );
  assert.equal(
    codeOf(() => parseCcaToken(new Uint8Array([0xd9, 0x01, 0x8f, 0xa0]))),
    "ERR_EVIDENCE_MALFORMED",
  );
  assert.equal(
    codeOf(() => parseCcaEvidence({ token: [1, 256] })),
    "ERR_EVIDENCE_MALFORMED",
  );
  assert.equal(
    codeOf(() => parseCcaEvidence({ token: "x" })),
    "ERR_EVIDENCE_MALFORMED",
  );
});

test("the AS verifier takes upstream's evidence JSON and requires runtime data", {
  skip,
}, async () => {
  const bytes = read("cca-example-token.cbor");
  const v = createCcaVerifier(stores());
  const challenge = parseCcaToken(bytes).realmClaims.challenge;
  const [r] = await v.evaluate({
    tee: "cca",
    evidence: { token: Array.from(bytes) },
    expectedReportData: challenge,
  });
  assert.equal(r?.teeClass, "cpu");
  await assert.rejects(
    v.evaluate({
      tee: "cca",
      evidence: { token: Array.from(bytes) },
      expectedReportData: new Uint8Array(0),
    }),
    { code: "ERR_VERIFIER_REPORT_DATA" },
  );
  const other = challenge.slice();
  other[0] = (other[0] as number) ^ 1;
  await assert.rejects(
    v.evaluate({ tee: "cca", evidence: { token: Array.from(bytes) }, expectedReportData: other }),
    {
      code: "ERR_VERIFIER_REPORT_DATA",
    },
  );
});
