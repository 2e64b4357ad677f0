/**
 * Verifies an Arm CCA token the way upstream Trustee's local CCA verifier does (ccatoken's
 * `Evidence::verify` then the challenge and personalization-value checks), in named steps that
 * each throw their own code, and derives upstream's claims.
 */
import { createHash } from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { verifyCoseSign1 } from "../../../../crypto/cose.js";
import { CryptoError } from "../../../../crypto/errors.js";
import {
  CCA_REALM_PROFILE,
  type CcaPlatformClaims,
  type CcaToken,
  isSecuredLifecycle,
  realmKeyOf,
} from "../../../../tee/cca/index.js";
import { regularize, toBase64, toHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { CcaReferenceValues, CcaTrustAnchor } from "./stores.js";

/** What a CCA token is checked against. */
export interface CcaVerifyOptions {
  trustAnchors: readonly CcaTrustAnchor[];
  /** Platform reference values; when given, the platform must match one (see docs). */
  referenceValues?: CcaReferenceValues;
  /** The runtime-data digest; compared with the realm challenge zero-padded to 64 bytes. */
  expectedReportData?: Uint8Array;
  /** The init-data digest; must equal the realm personalization value exactly. */
  expectedInitDataHash?: Uint8Array;
  /** Accept platforms outside the PSA "secured" lifecycle (debug/provisioning). Default false. */
  allowUnsecuredLifecycle?: boolean;
}

function cose<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CryptoError)
      throw new EvidenceError("ERR_EVIDENCE_UNSUPPORTED", e.message, { cause: e });
    throw e;
  }
}

/** Step 1: the CPAK registered for this platform instance (and implementation). */
export function findTrustAnchor(
  p: CcaPlatformClaims,
  anchors: readonly CcaTrustAnchor[],
): CcaTrustAnchor {
  const inst = toHex(p.instanceId);
  const ta = anchors.find((a) => a.instanceId === inst);
  if (!ta) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      "CCA platform instance-id is not in the trust-anchor store (unknown CPAK)",
    );
  }
  // Stricter than ccatoken, which looks the CPAK up by instance-id only.
  if (ta.implementationId !== toHex(p.implementationId)) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      "CCA platform implementation-id differs from the trust anchor registered for its instance-id",
    );
  }
  return ta;
}

function platformMatches(p: CcaPlatformClaims, rv: CcaReferenceValues): boolean {
  const impl = toHex(p.implementationId);
  return rv.platform.some(
    (r) =>
      r.implementationId === impl &&
      r.config === toHex(p.config) &&
      r.swComponents.length === p.swComponents.length &&
      r.swComponents.every((c, i) => {
        const e = p.swComponents[i];
        if (!e) return false;
        // ccatoken's SwComponent equality: value and signer always; type and version when the
        // reference names them.
        return (
          c.measurementValue === toHex(e.measurementValue) &&
          c.signerId === toHex(e.signerId) &&
          (c.componentType === undefined || c.componentType === e.measurementType) &&
          (c.version === undefined || c.version === e.version)
        );
      }),
  );
}

/** Verifies the token and returns upstream's claims (`realm`, `platform`, `report_data`, `init_data`). */
export function verifyCcaToken(t: CcaToken, o: CcaVerifyOptions): Record<string, unknown> {
  const p = t.platformClaims;
  const r = t.realmClaims;
  const ta = findTrustAnchor(p, o.trustAnchors);
  if (!cose(() => verifyCoseSign1(t.platform, ta.key, "CCA platform token"))) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      "CCA platform token signature does not verify with the registered CPAK",
    );
  }
  if (!o.allowUnsecuredLifecycle && !isSecuredLifecycle(p.lifecycle)) {
    throw new EvidenceError(
      "ERR_LIFECYCLE",
      `CCA platform lifecycle 0x${p.lifecycle.toString(16)} is not "secured" (0x3000-0x30ff)`,
    );
  }
  const rak = realmKeyOf(r.publicKey, r.profile === CCA_REALM_PROFILE);
  if (!cose(() => verifyCoseSign1(t.realm, rak, "CCA realm token"))) {
    throw new EvidenceError(
      "ERR_REALM_SIGNATURE",
      "CCA realm token signature does not verify with its RAK",
    );
  }
  // The platform vouches for the RAK: its challenge is the hash of the RAK (RMM §A.7.2.3).
  const rakHash = createHash(r.publicKeyHashAlgo === "sha-512" ? "sha512" : "sha256")
    .update(r.publicKey)
    .digest();
  if (!constantTimeEqual(new Uint8Array(rakHash), p.challenge)) {
    throw new EvidenceError(
      "ERR_KEY_BINDING",
      "CCA platform challenge is not the hash of the realm attestation key",
    );
  }
  if (o.referenceValues && !platformMatches(p, o.referenceValues)) {
    throw new EvidenceError(
      "ERR_MEASUREMENT_MISMATCH",
      "CCA platform firmware/configuration matches no platform reference value for its implementation-id",
    );
  }
  if (o.expectedReportData !== undefined) {
    if (!constantTimeEqual(regularize(o.expectedReportData, 64), r.challenge)) {
      throw new EvidenceError(
        "ERR_REPORT_DATA_MISMATCH",
        "CCA realm challenge is not the expected report data",
      );
    }
  }
  if (o.expectedInitDataHash !== undefined) {
    // Upstream compares the digest with the 64-byte RPV exactly (no padding).
    if (!constantTimeEqual(o.expectedInitDataHash, r.personalizationValue)) {
      throw new EvidenceError(
        "ERR_INIT_DATA_MISMATCH",
        "CCA realm personalization value is not the init-data digest",
      );
    }
  }
  return ccaClaims(t);
}

/** Upstream's claim set (serde kebab-case names, standard base64 values, hex report/init data). */
export function ccaClaims(t: CcaToken): Record<string, unknown> {
  const r = t.realmClaims;
  const p = t.platformClaims;
  return {
    realm: {
      "cca-realm-personalization-value": toBase64(r.personalizationValue),
      "cca-realm-initial-measurement": toBase64(r.initialMeasurement),
      "cca-realm-extensible-measurements": r.extensibleMeasurements.map(toBase64),
      "cca-realm-hash-algo-id": r.hashAlgo,
      "cca-realm-challenge": toBase64(r.challenge),
    },
    platform: {
      "cca-platform-instance-id": toBase64(p.instanceId),
      "cca-platform-implementation-id": toBase64(p.implementationId),
    },
    report_data: toHex(r.challenge),
    init_data: toHex(r.personalizationValue),
  };
}
