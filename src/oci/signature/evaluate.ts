/**
 * Evaluates a signature policy for one image. Every requirement of the selected scope must pass;
 * a decision is a value `{ allow, scope, reasons }`, never an exception (I/O failures such as an
 * unreadable key are reasons too). Runs on every pull.
 */

import type { ResolvedImage } from "../pull.js";
import { formatReference, type ImageReference } from "../reference.js";
import { type CosignSignature, loadCosignPublicKey, verifyCosignSignature } from "./cosign.js";
import { identityMatches } from "./identity.js";
import {
  type KeySource,
  type Policy,
  type PolicyRequirement,
  requirementsFor,
  type SignedIdentity,
} from "./policy.js";
import { readKeyring, verifySimpleSignature } from "./simple-signing.js";

/** The I/O a policy evaluation needs, injected. */
export interface PolicyContext {
  /** Reads a key file path or `kbs://` resource URI named by the policy. */
  readKey(pathOrUri: string): Promise<Uint8Array>;
  /** GPG simple-signing signatures for the manifest digest (lookaside). */
  simpleSignatures(manifestDigest: string): Promise<Uint8Array[]>;
  /** Cosign signatures attached to the manifest digest. */
  cosignSignatures(manifestDigest: string): Promise<CosignSignature[]>;
  /** Accept SHA-1 OpenPGP signatures (off by default). */
  allowSha1?: boolean;
}

/** A policy decision. */
export interface PolicyDecision {
  allow: boolean;
  scope: string;
  reasons: string[];
}

async function keyBytes(k: KeySource, ctx: PolicyContext): Promise<Uint8Array[]> {
  if ("keyData" in k) return [k.keyData];
  if ("keyPath" in k) return [await ctx.readKey(k.keyPath)];
  return Promise.all(k.keyPaths.map((p) => ctx.readKey(p)));
}

function digestOk(signed: string, image: ResolvedImage, allowList: boolean): boolean {
  return (
    signed === image.manifestDigest ||
    (allowList && image.listDigest !== undefined && signed === image.listDigest)
  );
}

/**
 * Why a verified signature payload does not vouch for this image (another digest, or a signed
 * identity the rule does not accept), or undefined when it does. Cosign may sign the list digest.
 */
function payloadMismatch(
  p: { manifestDigest: string; dockerReference: string },
  identity: SignedIdentity,
  ref: ImageReference,
  image: ResolvedImage,
  allowList: boolean,
): string | undefined {
  if (!digestOk(p.manifestDigest, image, allowList))
    return "signature is for another manifest digest";
  if (!identityMatches(identity, ref, p.dockerReference))
    return `signed identity '${p.dockerReference.slice(0, 200)}' does not match (${identity.type})`;
  return undefined;
}

async function check(
  req: PolicyRequirement,
  ref: ImageReference,
  image: ResolvedImage,
  ctx: PolicyContext,
): Promise<string | undefined> {
  switch (req.type) {
    case "insecureAcceptAnything":
      return undefined;
    case "reject":
      return `policy 'reject' refuses ${formatReference(ref)}`;
    case "signedBy": {
      const rings = await Promise.all((await keyBytes(req.key, ctx)).map(readKeyring));
      const keyring = rings.flat();
      const sigs = await ctx.simpleSignatures(image.manifestDigest);
      if (sigs.length === 0) return "signedBy: no GPG signature found for the manifest digest";
      const why: string[] = [];
      for (const s of sigs) {
        try {
          const p = await verifySimpleSignature(s, keyring, { allowSha1: ctx.allowSha1 === true });
          const bad = payloadMismatch(p, req.signedIdentity, ref, image, false);
          if (bad === undefined) return undefined;
          why.push(bad);
        } catch (err) {
          why.push((err as Error).message);
        }
      }
      return `signedBy: no valid signature (${[...new Set(why)].join("; ")})`;
    }
    case "sigstoreSigned": {
      const keys = (await keyBytes(req.key, ctx)).map(loadCosignPublicKey);
      const sigs = await ctx.cosignSignatures(image.manifestDigest);
      const listSigs =
        image.listDigest !== undefined ? await ctx.cosignSignatures(image.listDigest) : [];
      const all = [...sigs, ...listSigs];
      if (all.length === 0) return "sigstoreSigned: no cosign signature attached to the image";
      const why: string[] = [];
      for (const s of all) {
        for (const key of keys) {
          try {
            const bad = payloadMismatch(
              verifyCosignSignature(s, key),
              req.signedIdentity,
              ref,
              image,
              true,
            );
            if (bad === undefined) return undefined;
            why.push(bad);
          } catch (err) {
            why.push((err as Error).message);
          }
        }
      }
      return `sigstoreSigned: no valid signature (${[...new Set(why)].join("; ")})`;
    }
  }
}

/** Evaluates the policy for a docker-transport image. */
export async function evaluatePolicy(
  policy: Policy,
  ref: ImageReference,
  image: ResolvedImage,
  ctx: PolicyContext,
  transport = "docker",
): Promise<PolicyDecision> {
  const { scope, requirements } = requirementsFor(policy, transport, ref);
  const reasons: string[] = [];
  if (requirements.length === 0) return { allow: true, scope, reasons };
  for (const req of requirements) {
    try {
      const r = await check(req, ref, image, ctx);
      if (r !== undefined) reasons.push(r);
    } catch (err) {
      reasons.push(`${req.type}: ${(err as Error).message}`);
    }
  }
  return { allow: reasons.length === 0, scope, reasons };
}
