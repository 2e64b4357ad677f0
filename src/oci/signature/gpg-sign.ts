/**
 * Simple signing with a GPG key (`coco image sign --gpg-key FPR`), as skopeo `--sign-by` does:
 * gpg signs the payload (keys stay in the user's GnuPG keyring/agent), and the signature is
 * written to the lookaside staging directory as the next free `signature-<n>`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { OciError } from "../errors.js";
import type { ImageReference } from "../reference.js";
import { lookasideFor, type RegistriesD, signatureDirUrl } from "./lookaside.js";
import { createPayload } from "./payload.js";

/** Signs a payload with `gpg --sign` for the key `fingerprint`; GNUPGHOME comes from env. */
export function gpgSign(
  payload: Uint8Array,
  fingerprint: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Uint8Array> {
  if (!/^[0-9A-Fa-f]{8,40}$/.test(fingerprint))
    throw new OciError("ERR_OCI_SIGNATURE", "--gpg-key must be a key fingerprint or ID (hex)");
  return new Promise((resolve, reject) => {
    const child = spawn(
      "gpg",
      [
        "--batch",
        "--no-tty",
        "--yes",
        "--digest-algo",
        "SHA256",
        "--local-user",
        fingerprint,
        "--sign",
      ],
      { env, stdio: ["pipe", "pipe", "pipe"] },
    );
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString("utf8");
    });
    child.on("error", (e) =>
      reject(new OciError("ERR_OCI_SIGNATURE", `gpg could not start: ${e.message}`)),
    );
    child.on("close", (code) => {
      if (code !== 0)
        reject(
          new OciError(
            "ERR_OCI_SIGNATURE",
            `gpg --sign failed: ${err.trim().split("\n").slice(-2).join(" ").slice(0, 300)}`,
          ),
        );
      else resolve(Buffer.concat(out));
    });
    child.stdin.end(payload);
  });
}

/** Signs `ref`@`manifestDigest` and stores the signature in the lookaside staging location. */
export async function signToLookaside(
  cfg: RegistriesD,
  ref: ImageReference,
  dockerReference: string,
  manifestDigest: string,
  fingerprint: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  const e = lookasideFor(cfg, ref);
  const base = e?.lookasideStaging ?? e?.lookaside;
  if (base === undefined)
    throw new OciError(
      "ERR_OCI_SIGSTORE_CONFIG",
      `no lookaside (sigstore-staging) configured for ${ref.registry}/${ref.repository}`,
    );
  if (!base.startsWith("file://"))
    throw new OciError(
      "ERR_OCI_NOT_IMPLEMENTED",
      "writing signatures to an HTTP lookaside is not supported; use a file:// staging URL",
    );
  const sig = await gpgSign(createPayload(dockerReference, manifestDigest), fingerprint, env);
  const dir = new URL(signatureDirUrl(base, ref, manifestDigest)).pathname;
  mkdirSync(dir, { recursive: true });
  let n = 1;
  while (existsSync(`${dir}/signature-${n}`)) n++;
  const tmp = `${dir}/.signature-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, sig, { mode: 0o644 });
  renameSync(tmp, `${dir}/signature-${n}`);
  return `${dir}/signature-${n}`;
}
