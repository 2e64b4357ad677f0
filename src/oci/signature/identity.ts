/** `signedIdentity` matching between the pulled reference and the reference a signature names. */
import {
  formatReference,
  type ImageReference,
  parseReference,
  referenceName,
} from "../reference.js";
import type { SignedIdentity } from "./policy.js";

function repoDigestOrExact(image: ImageReference, signed: ImageReference): boolean {
  if (image.tag === undefined && image.digest !== undefined)
    return referenceName(image) === referenceName(signed);
  return formatReference(image) === formatReference(signed);
}

/** True when a signature naming `signedRef` may vouch for `image` under `rule`. */
export function identityMatches(
  rule: SignedIdentity,
  image: ImageReference,
  signedRef: string,
): boolean {
  let signed: ImageReference;
  try {
    signed = parseReference(signedRef);
  } catch {
    return false;
  }
  // A signature naming only a repository (cosign) parses with the default tag; keep that apart.
  const signedHasTag = /:[^/]+$/.test(signedRef.replace(/@.*$/, "")) || signedRef.includes("@");
  switch (rule.type) {
    case "matchExact":
      return signedHasTag && formatReference(image) === formatReference(signed);
    case "matchRepoDigestOrExact":
      if (image.tag === undefined && image.digest !== undefined)
        return referenceName(image) === referenceName(signed);
      return signedHasTag && formatReference(image) === formatReference(signed);
    case "matchRepository":
      return referenceName(image) === referenceName(signed);
    case "exactReference":
      try {
        return (
          signedHasTag &&
          formatReference(parseReference(rule.dockerReference)) === formatReference(signed)
        );
      } catch {
        return false;
      }
    case "exactRepository":
      try {
        return referenceName(parseReference(rule.dockerRepository)) === referenceName(signed);
      } catch {
        return false;
      }
    case "remapIdentity": {
      const whole = formatReference(image);
      const p = rule.prefix;
      if (
        !whole.startsWith(p) ||
        !(whole.length === p.length || /[/:@]/.test(whole[p.length]!) || p.endsWith("/"))
      ) {
        return signedHasTag && repoDigestOrExact(image, signed);
      }
      try {
        const remapped = parseReference(rule.signedPrefix + whole.slice(p.length));
        return signedHasTag && repoDigestOrExact(remapped, signed);
      } catch {
        return false;
      }
    }
  }
}
