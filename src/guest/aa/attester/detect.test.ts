import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { detectAttester } from "./detect.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function machine(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "detect-"));
  dirs.push(root);
  for (const f of files) {
    mkdirSync(join(root, f, ".."), { recursive: true });
    writeFileSync(join(root, f), "");
  }
  return root;
}

describe("TEE detection (upstream order, on a fake machine layout)", () => {
  test("nothing found: the sample attester, with a warning", async () => {
    const lines: string[] = [];
    const a = await detectAttester({ root: machine([]), env: {}, log: (l) => lines.push(l) });
    assert.equal(a.tee, "sample");
    assert.match(lines.join("\n"), /WARNING/);
  });

  test("tdx wins over snp and tpm; snp over tpm; tpm last", async () => {
    assert.equal(
      (
        await detectAttester({
          root: machine(["dev/tdx_guest", "dev/sev-guest", "dev/tpm0"]),
          env: {},
        })
      ).tee,
      "tdx",
    );
    assert.equal(
      (await detectAttester({ root: machine(["dev/sev-guest", "dev/tpm0"]), env: {} })).tee,
      "snp",
    );
    assert.equal((await detectAttester({ root: machine(["dev/tpm0"]), env: {} })).tee, "tpm");
  });

  test("a detected TEE without an attester here refuses instead of falling back to sample", async () => {
    await assert.rejects(
      detectAttester({ root: machine(["dev/attestation/attestation_type"]), env: {} }),
      { code: "ERR_AA_UNSUPPORTED" },
    );
    await assert.rejects(detectAttester({ root: machine(["dev/csv-guest"]), env: {} }), {
      code: "ERR_AA_UNSUPPORTED",
    });
    await assert.rejects(detectAttester({ root: machine([]), env: { OCCLUM: "1" } }), {
      code: "ERR_AA_UNSUPPORTED",
    });
  });
});
