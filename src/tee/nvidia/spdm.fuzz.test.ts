/**
 * Mutation fuzzing of the NVIDIA SPDM report parser, the device evidence JSON, and the whole
 * local verification path (chain, FWID, signature, nonce), seeded with the real Hopper report.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { verifyNvidiaDevice } from "../../trustee/as/verifier/nvidia/index.js";
import { EvidenceError } from "../common/errors.js";
import { parseNvidiaEvidence } from "./evidence.js";
import { parseNvidiaReport } from "./spdm.js";

const F = "fixtures/evidence/nvidia/";

describe("NVIDIA report fuzzing", { skip: sharedSkip(`${F}hopperAttestationReport.txt`) }, () => {
  const report = () =>
    new Uint8Array(
      Buffer.from(readFileSync(sharedPath(`${F}hopperAttestationReport.txt`), "utf8"), "hex"),
    );
  const chain = () => readFileSync(sharedPath(`${F}hopper_cert_chain_case1.txt`), "utf8");

  test("mutated reports parse and verify, or throw a coded EvidenceError", async (t) => {
    const seed = report();
    const certificateChain = chain();
    const r = parseNvidiaReport(seed);
    // Request/response heads, the record length (u24), the opaque-data length, the signature.
    const msgEnd = r.signedBytes.length;
    const bounds = [0, 4, 36, 37, 41, 42, 45, msgEnd - 2, msgEnd];
    const stats = await fuzz({
      name: "nvidia-report",
      seed: 0x6e0,
      iterations: 3000,
      errorClass: EvidenceError,
      gen: (rng) =>
        mutate(rng, seed, {
          boundaries: bounds,
          lengthOffsets: [42, 45, 46, msgEnd - 2],
          donors: [seed],
        }),
      target: (b) =>
        verifyNvidiaDevice(
          { arch: "Hopper", uuid: "fuzz", report: b, certificateChain },
          { expectedReportData: r.requestNonce },
        ),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 1);
  });

  test("mutated device evidence JSON parses or throws a coded EvidenceError", async (t) => {
    const corpus = {
      device_evidence_list: [
        {
          arch: "HOPPER",
          uuid: "x",
          evidence: Buffer.from(report().subarray(0, 64)).toString("hex"),
          certificate: Buffer.from(chain().slice(0, 200)).toString("base64"),
        },
      ],
    };
    const stats = await fuzz({
      name: "nvidia-evidence-json",
      seed: 0x6e1,
      iterations: 2000,
      errorClass: EvidenceError,
      gen: (rng) => mutateJson(rng, corpus),
      target: (j) => parseNvidiaEvidence(j),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });
});
