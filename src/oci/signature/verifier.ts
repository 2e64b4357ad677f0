/** Builds the pull's signature-policy step from a policy, lookaside config and key readers. */
import { readFileSync } from "node:fs";
import { OciError } from "../errors.js";
import type { ImageVerifier } from "../pull.js";
import type { ImageReference } from "../reference.js";
import type { ImageSource } from "../source.js";
import { fetchCosignSignatures } from "./cosign.js";
import { evaluatePolicy, type PolicyDecision } from "./evaluate.js";
import { createLookaside } from "./http-lookaside.js";
import {
  lookasideFor,
  type RegistriesD,
  readLookasideSignatures,
  signatureDirUrl,
} from "./lookaside.js";
import type { Policy } from "./policy.js";

/** Inputs for {@link createPolicyVerifier}. */
export interface PolicyVerifierOptions {
  policy: Policy;
  /** The reference the policy judges (as the user named it). */
  reference: ImageReference;
  /** Where the image (and its cosign attachments) come from. */
  source: ImageSource;
  registriesD?: RegistriesD;
  /** Fetches `kbs://` resources (keys held by Trustee). */
  getResource?: (uri: string) => Promise<Uint8Array>;
  /** HTTP(S) lookaside fetcher (default: one with size and time limits, trusting `ca`). */
  fetchUrl?: (url: string) => Promise<Uint8Array | undefined>;
  allowSha1?: boolean;
  /** Extra CA certificates for an HTTPS lookaside. */
  ca?: string[];
  /** Receives every decision (for logs and `coco image verify`). */
  onDecision?: (d: PolicyDecision) => void;
}

/** Reads a key named by a policy: a `kbs://` URI through Trustee, otherwise a local file. */
export function createKeyReader(
  getResource?: (uri: string) => Promise<Uint8Array>,
): (p: string) => Promise<Uint8Array> {
  return async (p) => {
    if (/^kbs(\+[^:/]*)?:\/\//.test(p)) {
      if (getResource === undefined)
        throw new OciError(
          "ERR_OCI_RESOURCE",
          `key ${p} needs a KBS connection, none is configured`,
        );
      return getResource(p);
    }
    try {
      return readFileSync(p.startsWith("file://") ? new URL(p).pathname : p);
    } catch (err) {
      throw new OciError("ERR_OCI_RESOURCE", `cannot read key file ${p}`, { cause: err });
    }
  };
}

/** An {@link ImageVerifier} that throws ERR_OCI_POLICY_DENIED with the policy's reasons. */
export function createPolicyVerifier(o: PolicyVerifierOptions): ImageVerifier {
  return async (image) => {
    const d = await evaluatePolicy(o.policy, o.reference, image, {
      readKey: createKeyReader(o.getResource),
      allowSha1: o.allowSha1 === true,
      async simpleSignatures(digest) {
        const e = o.registriesD ? lookasideFor(o.registriesD, o.reference) : undefined;
        if (e?.lookaside === undefined) return [];
        const dirUrl = signatureDirUrl(e.lookaside, o.reference, digest);
        if (o.fetchUrl !== undefined || !/^https?:/.test(dirUrl))
          return readLookasideSignatures(dirUrl, o.fetchUrl);
        const http = createLookaside(o.ca ? { ca: o.ca } : {});
        try {
          return await readLookasideSignatures(dirUrl, http.fetchUrl);
        } finally {
          http.close();
        }
      },
      cosignSignatures: (digest) => fetchCosignSignatures(o.source, digest),
    });
    o.onDecision?.(d);
    if (!d.allow)
      throw new OciError(
        "ERR_OCI_POLICY_DENIED",
        `image refused by the signature policy (scope ${d.scope}): ${d.reasons.join("; ")}`,
      );
  };
}
