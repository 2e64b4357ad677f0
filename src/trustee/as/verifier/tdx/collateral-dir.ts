/**
 * DCAP collateral read from a directory, in the file names `coco attest collateral fetch` writes:
 * `tcb-info-<tee>.json`, `tcb-info-issuer-chain.pem`, `qe-identity-<tee>.json`,
 * `qe-identity-issuer-chain.pem`, `pck-crl-{platform,processor}.der`, `root-ca-crl.der`.
 */
import { join } from "node:path";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { ReadFile } from "../snp/store.js";
import type { DcapCollateral } from "./collateral.js";

/** Whether `dir` holds TCB Info for `tee` (the other files are then required). */
export function hasDcapCollateral(dir: string, tee: "tdx" | "sgx", read: ReadFile): boolean {
  return read(join(dir, `tcb-info-${tee}.json`)) !== undefined;
}

/** Reads the collateral for `tee`; a missing required file is ERR_COLLATERAL_MISSING naming it. */
export function readDcapCollateralDir(
  dir: string,
  tee: "tdx" | "sgx",
  read: ReadFile,
): DcapCollateral {
  const bin = (n: string): Uint8Array => {
    const b = read(join(dir, n));
    if (!b) {
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `DCAP collateral file ${n} is missing in ${dir}`,
      );
    }
    return b;
  };
  const text = (n: string): string => Buffer.from(bin(n)).toString("utf8");
  return {
    tcbInfoJson: text(`tcb-info-${tee}.json`),
    tcbInfoIssuerChainPem: text("tcb-info-issuer-chain.pem"),
    qeIdentityJson: text(`qe-identity-${tee}.json`),
    qeIdentityIssuerChainPem: text("qe-identity-issuer-chain.pem"),
    pckCrlDer: ["pck-crl-platform.der", "pck-crl-processor.der"].flatMap(
      (n) => read(join(dir, n)) ?? [],
    ),
    rootCaCrlDer: bin("root-ca-crl.der"),
  };
}
