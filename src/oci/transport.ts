/**
 * Transport names as skopeo spells them: `docker://REF` (or a bare reference) and `oci:DIR[:TAG]`.
 * Opens the matching {@link ImageSource} with credentials and TLS settings.
 */
import { OciError } from "./errors.js";
import { apiHost, type ImageReference, parseReference, referenceSelector } from "./reference.js";
import { type AuthFile, type Credentials, lookupCredentials } from "./registry/auth.js";
import { createRegistryClient, type RegistryClient } from "./registry/client.js";
import { createLayoutSource, createRegistrySource, type ImageSource } from "./source.js";

/** A parsed transport reference. */
export type ImageLocation =
  | { transport: "docker"; reference: ImageReference }
  | { transport: "oci"; dir: string; tag: string };

/** Parses `docker://ref`, `oci:dir[:tag]`, or a bare docker reference. */
export function parseImageLocation(input: string): ImageLocation {
  if (input.startsWith("docker://"))
    return { transport: "docker", reference: parseReference(input.slice(9)) };
  if (input.startsWith("oci:")) {
    const rest = input.slice(4);
    const colon = rest.lastIndexOf(":");
    const dir = colon > 0 ? rest.slice(0, colon) : rest;
    const tag = colon > 0 ? rest.slice(colon + 1) : "";
    if (dir === "") throw new OciError("ERR_OCI_REFERENCE", "oci: transport needs a directory");
    return { transport: "oci", dir, tag };
  }
  if (/^[a-z-]+:(?!\d)/.test(input) && !input.includes("/")) {
    throw new OciError(
      "ERR_OCI_REFERENCE",
      `unsupported transport in '${input.slice(0, 60)}' (docker:// and oci: are supported)`,
    );
  }
  return { transport: "docker", reference: parseReference(input) };
}

/** Registry connection settings. */
export interface RegistryOptions {
  auth?: AuthFile;
  /** Explicit credentials (win over the auth file), e.g. `--creds`. */
  credentials?: Credentials;
  /** false = allow HTTP and skip TLS verification (skopeo `--tls-verify=false`). */
  tlsVerify?: boolean;
  /** Extra CA certificates (PEM). */
  ca?: string[];
}

/** A registry client for the reference's registry with its credentials. */
export function registryClientFor(ref: ImageReference, opts: RegistryOptions = {}): RegistryClient {
  const credentials =
    opts.credentials ?? (opts.auth ? lookupCredentials(opts.auth, ref) : undefined);
  return createRegistryClient({
    host: apiHost(ref.registry),
    insecure: opts.tlsVerify === false,
    ...(opts.ca ? { tls: { ca: opts.ca } } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** Opens the source for a location; returns it with the selector to fetch. */
export function openImageSource(
  loc: ImageLocation,
  opts: RegistryOptions = {},
): { source: ImageSource; selector: string } {
  if (loc.transport === "oci") return { source: createLayoutSource(loc.dir), selector: loc.tag };
  return {
    source: createRegistrySource(registryClientFor(loc.reference, opts), loc.reference.repository),
    selector: referenceSelector(loc.reference),
  };
}
