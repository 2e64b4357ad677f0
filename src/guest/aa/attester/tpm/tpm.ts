/**
 * The generic TPM attester (guest-components attester/src/tpm): AK at a persistent handle
 * (`AA_TPM_AK_HANDLE`, default 0x81010002; provisioned under the endorsement hierarchy when
 * missing), report data resized to 32 bytes as qualifying data, quote over all 24 SHA-256 PCRs.
 * Evidence `{"tpm_quote":{"signature","message","pcrs"},"ak_public"}`; runtime measurement
 * extends PCRs; init-data extends PCR 8.
 */
import { createPublicKey } from "node:crypto";
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { AaError } from "../../errors.js";
import type { Attester, RuntimeMeasurer } from "../types.js";
import {
  pcrExtend,
  pcrRead,
  provisionAk,
  quote,
  readRsaPublic,
  TpmResponseError,
} from "./commands.js";
import type { TpmTransport } from "./transport.js";

/** Default persistent AK handle. */
export const DEFAULT_AK_HANDLE = 0x81010002;
const ALL_PCRS = Array.from({ length: 24 }, (_, i) => i);

/** Options for {@link createTpmAttester}. */
export interface TpmAttesterOptions {
  transport: TpmTransport;
  akHandle?: number;
  /** Create and persist an AK when none is at `akHandle` (default true). */
  provision?: boolean;
}

/** DER SPKI of an RSA public key given as modulus and exponent. */
export function rsaSpkiDer(modulus: Uint8Array, exponent: number): Uint8Array {
  const e = Buffer.alloc(4);
  e.writeUInt32BE(exponent);
  let i = 0;
  while (i < 3 && e[i] === 0) i++;
  return createPublicKey({
    key: {
      kty: "RSA",
      n: Buffer.from(modulus).toString("base64url"),
      e: e.subarray(i).toString("base64url"),
    },
    format: "jwk",
  }).export({ type: "spki", format: "der" });
}

/** Runtime measurements into the TPM's SHA-256 PCR bank (the AAEL PCR is the register). */
export function pcrRuntimeMeasurer(t: TpmTransport): RuntimeMeasurer {
  return {
    hashAlgorithm: "sha256",
    pcrToRegister: (pcr) => pcr,
    async readRegister(pcr) {
      const v = (await pcrRead(t, [pcr])).get(pcr);
      if (!v) throw new AaError("ERR_AA_TPM", `PCR ${pcr} was not returned`);
      return v;
    },
    extend: (pcr, d) => pcrExtend(t, pcr, fitDigest(d, 32)),
  };
}

/** Creates the TPM attester. */
export function createTpmAttester(opts: TpmAttesterOptions): Attester {
  const t = opts.transport;
  const ak = opts.akHandle ?? DEFAULT_AK_HANDLE;
  let akPublic: Promise<Uint8Array> | undefined;
  const akSpki = () => {
    akPublic ??= (async () => {
      try {
        const k = await readRsaPublic(t, ak);
        return rsaSpkiDer(k.modulus, k.exponent);
      } catch (err) {
        if (!(err instanceof TpmResponseError) || opts.provision === false) throw err;
        await provisionAk(t, ak);
        const k = await readRsaPublic(t, ak);
        return rsaSpkiDer(k.modulus, k.exponent);
      }
    })();
    akPublic.catch(() => {
      akPublic = undefined;
    });
    return akPublic;
  };
  const runtime = pcrRuntimeMeasurer(t);
  return {
    tee: "tpm",
    runtime,
    async getEvidence(reportData) {
      const spki = await akSpki();
      const q = await quote(t, ak, fitDigest(reportData, 32), ALL_PCRS);
      const pcrs = await pcrRead(t, ALL_PCRS);
      return {
        tpm_quote: {
          signature: Buffer.from(q.signature).toString("base64"),
          message: Buffer.from(q.message).toString("base64"),
          pcrs: ALL_PCRS.map((i) => Buffer.from(pcrs.get(i) ?? []).toString("hex")),
        },
        ak_public: Buffer.from(spki).toString("base64"),
      };
    },
    async bindInitData(digest) {
      await pcrExtend(t, 8, fitDigest(digest, 32));
      return "bound";
    },
  };
}
