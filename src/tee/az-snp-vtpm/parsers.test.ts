import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { HCL_MAX_SIZE, parseHclReport, parseHclVarData } from "./hcl.js";
import { parseTpmQuoteMessage } from "./tpm-quote.js";

const D = "fixtures/evidence/az-snp-vtpm/";
const skip = sharedSkip(`${D}hcl-report.bin`);
const isCoded = (e: unknown): boolean => /^ERR_/.test((e as { code?: string }).code ?? "");

test("HCL report: every truncation inside the parsed part fails with a coded error and an offset", {
  skip,
}, () => {
  const raw = new Uint8Array(readFileSync(sharedPath(`${D}hcl-report.bin`)));
  const parsedEnd = 32 + 1184 + 20 + 1110;
  for (let n = 0; n < parsedEnd; n += 7) {
    assert.throws(
      () => parseHclReport(raw.subarray(0, n)),
      (e: unknown) => {
        assert.ok(isCoded(e));
        return true;
      },
    );
  }
  assert.throws(() => parseHclReport(new Uint8Array(HCL_MAX_SIZE + 1)), {
    code: "ERR_EVIDENCE_OVERSIZE",
  });
  assert.throws(() => parseHclReport(new Uint8Array(2600).fill(0x41)), {
    code: "ERR_EVIDENCE_MALFORMED",
  });
  const badType = raw.slice();
  badType[32 + 1184 + 8] = 9;
  assert.throws(() => parseHclReport(badType), { code: "ERR_EVIDENCE_UNSUPPORTED" });
});

test("HCL variable data: garbage JSON and a missing AK are refused", () => {
  assert.throws(() => parseHclVarData(Buffer.from("{nope")), { code: "ERR_HCL_VAR_DATA" });
  assert.throws(() => parseHclVarData(Buffer.from('{"keys":[]}')), { code: "ERR_TPM_AK" });
  assert.throws(
    () => parseHclVarData(Buffer.from('{"keys":[{"kid":"HCLAkPub"}],"user-data":"xyz"}')),
    {
      code: "ERR_HCL_VAR_DATA",
    },
  );
});

test("TPMS_ATTEST: truncations, trailing bytes and garbage fail with coded errors", {
  skip,
}, () => {
  const msg = Buffer.from(
    JSON.parse(readFileSync(sharedPath(`${D}tpm-quote-v1.json`), "utf8")).message,
    "hex",
  );
  const info = parseTpmQuoteMessage(msg);
  assert.equal(Buffer.from(info.extraData).toString(), "challenge");
  assert.deepEqual(
    info.selections[0]?.pcrs,
    Array.from({ length: 24 }, (_, i) => i),
  );
  for (let n = 0; n < msg.length; n++) {
    assert.throws(
      () => parseTpmQuoteMessage(msg.subarray(0, n)),
      (e: unknown) => isCoded(e),
    );
  }
  assert.throws(() => parseTpmQuoteMessage(Buffer.concat([msg, Buffer.from([0])])), {
    code: "ERR_EVIDENCE_MALFORMED",
  });
  let seed = 11;
  for (let k = 0; k < 300; k++) {
    const g = Buffer.alloc(msg.length);
    for (let i = 0; i < g.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      g[i] = seed >>> 24;
    }
    g.writeUInt32BE(0xff544347, 0);
    g.writeUInt16BE(0x8018, 4);
    try {
      parseTpmQuoteMessage(g);
    } catch (e) {
      assert.ok(isCoded(e));
    }
  }
});
