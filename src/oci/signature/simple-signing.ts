/**
 * GPG simple signing (containers/image "atomic container signature"): an OpenPGP signed
 * message whose literal data is the JSON payload. This file is the one entry to `openpgp`,
 * which it loads on first use: most images are not GPG-signed, and openpgp costs a pod's agent
 * and `coco run` start-up time to evaluate (it builds its cipher tables when loaded).
 */
import type * as OpenPgp from "openpgp";
import { OciError } from "../errors.js";
import { parsePayload, type SignaturePayload } from "./payload.js";

/** A parsed public keyring (armored or binary, one or more keys). */
export type Keyring = OpenPgp.Key[];

const loadOpenpgp = (): Promise<typeof OpenPgp> => import("openpgp");

/** Reads public keys from armored text or binary packets. */
export async function readKeyring(bytes: Uint8Array): Promise<Keyring> {
  const text = Buffer.from(bytes).toString("latin1");
  const openpgp = await loadOpenpgp();
  try {
    if (text.includes("-----BEGIN PGP"))
      return await openpgp.readKeys({ armoredKeys: Buffer.from(bytes).toString("utf8") });
    return await openpgp.readKeys({ binaryKeys: Uint8Array.from(bytes) });
  } catch (err) {
    throw new OciError("ERR_OCI_SIGNATURE", "could not read the GPG keyring", { cause: err });
  }
}

/** Verifies one signature blob against a keyring; returns the payload and signer fingerprint. */
export async function verifySimpleSignature(
  blob: Uint8Array,
  keyring: Keyring,
  opts: { allowSha1?: boolean } = {},
): Promise<SignaturePayload & { fingerprint: string }> {
  if (blob.byteLength > 4 * 1024 * 1024)
    throw new OciError("ERR_OCI_SIGNATURE", "signature larger than 4 MiB");
  const openpgp = await loadOpenpgp();
  let message: OpenPgp.Message<Uint8Array>;
  try {
    message = await openpgp.readMessage({ binaryMessage: Uint8Array.from(blob) });
  } catch (err) {
    throw new OciError("ERR_OCI_SIGNATURE", "signature is not an OpenPGP message", { cause: err });
  }
  let data: Uint8Array;
  let keyID: OpenPgp.KeyID;
  try {
    // SHA-1 signatures are refused unless explicitly allowed (upstream accepts them).
    const config = opts.allowSha1
      ? {
          rejectMessageHashAlgorithms: new Set([openpgp.enums.hash.md5, openpgp.enums.hash.ripemd]),
        }
      : {};
    const r = await openpgp.verify({
      message,
      verificationKeys: keyring,
      expectSigned: true,
      format: "binary",
      config,
    });
    data = r.data as Uint8Array;
    const sig = r.signatures[0];
    if (sig === undefined) throw new Error("no signature");
    await sig.verified;
    keyID = sig.keyID;
  } catch (err) {
    if (/SHA1/.test(String((err as Error).message))) {
      throw new OciError(
        "ERR_OCI_SIGNATURE",
        "signature uses SHA-1, which is refused (re-sign with SHA-256)",
        { cause: err },
      );
    }
    throw new OciError("ERR_OCI_SIGNATURE", "signature does not verify with any trusted key", {
      cause: err,
    });
  }
  // The key that verified must be the one the signature names (fingerprint suffix = key ID).
  const key = keyring.find((k) => k.getKeys(keyID).length > 0);
  if (key === undefined)
    throw new OciError("ERR_OCI_SIGNATURE", "signing key is not in the keyring");
  const sub = key.getKeys(keyID)[0]!;
  return {
    ...parsePayload(data, ["atomic container signature"]),
    fingerprint: sub.getFingerprint().toUpperCase(),
  };
}
