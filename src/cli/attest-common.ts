/** Helpers shared by the `coco attest` modules: reading evidence and collateral files. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EvidenceError } from "../tee/common/errors.js";
import type { DcapCollateral } from "../trustee/as/verifier/tdx/collateral.js";

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
  if (!dir) return undefined;
  const read = (n: string): string => {
    const b = readIf(join(dir, n));
    if (!b)
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `DCAP collateral file ${n} is missing in ${dir}`,
      );
    return Buffer.from(b).toString("utf8");
  };
  const bin = (n: string): Uint8Array => {
    const b = readIf(join(dir, n));
    if (!b)
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `DCAP collateral file ${n} is missing in ${dir}`,
      );
    return b;
  };
  return {
    tcbInfoJson: read(`tcb-info-${tee}.json`),
    tcbInfoIssuerChainPem: read("tcb-info-issuer-chain.pem"),
    qeIdentityJson: read(`qe-identity-${tee}.json`),
    qeIdentityIssuerChainPem: read("qe-identity-issuer-chain.pem"),
    pckCrlDer: ["pck-crl-platform.der", "pck-crl-processor.der"].flatMap(
      (n) => readIf(join(dir, n)) ?? [],
    ),
    rootCaCrlDer: bin("root-ca-crl.der"),
  };
}
