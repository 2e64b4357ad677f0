/** Helpers shared by the `coco attest` modules: reading evidence and collateral files. */
import { existsSync, readFileSync } from "node:fs";
import { EvidenceError } from "../tee/common/errors.js";
import type { DcapCollateral } from "../trustee/as/verifier/tdx/collateral.js";
import { readDcapCollateralDir } from "../trustee/as/verifier/tdx/collateral-dir.js";

/** Largest evidence file `coco attest verify` reads. */
export const MAX_EVIDENCE = 4 * 1024 * 1024;

/** The file's bytes, or undefined when it does not exist. */
export function readIf(p: string): Uint8Array | undefined {
  return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
}

/** Evidence JSON when the bytes start with "{", else undefined (a raw quote or report). */
export function evidenceJson(bytes: Uint8Array): unknown | undefined {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b) return undefined; // not "{": a raw quote or report
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "evidence file starts with '{' but is not JSON",
      { cause },
    );
  }
}

/** The collateral directory, or ERR_COLLATERAL_MISSING saying how to get one. */
export function needCollateral(dir: string | undefined, tee: string): string {
  if (!dir) {
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      `${tee} needs AMD's ARK/ASK/ASVK: pass --collateral DIR holding <gen>-ask-ark-asvk-bundle.pem (fill it with 'coco attest collateral fetch')`,
    );
  }
  return dir;
}

/** DCAP collateral read from a directory (names as `collateral fetch` writes them). */
export function dcapCollateral(
  dir: string | undefined,
  tee: "tdx" | "sgx",
): DcapCollateral | undefined {
  return dir ? readDcapCollateralDir(dir, tee, readIf) : undefined;
}
