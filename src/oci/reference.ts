/**
 * Docker image references (the distribution/reference grammar) with docker.io normalisation:
 * `busybox` → `docker.io/library/busybox:latest`.
 */

import { parseDigest } from "./digest.js";
import { OciError } from "./errors.js";

/** A normalised, fully qualified image reference. */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path without the registry, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const NAME_MAX = 255;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** The registry `docker.io` references go to for the API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";

/**
 * Parses a reference and normalises it the way docker and containers/image do. Throws
 * ERR_OCI_REFERENCE naming the part that is wrong.
 */
export function parseReference(input: string): ImageReference {
  const bad = (why: string): never => {
    throw new OciError("ERR_OCI_REFERENCE", `invalid image reference: ${why}`);
  };
  if (typeof input !== "string" || input.length === 0) bad("empty reference");
  if (input.length > 4096) bad("reference too long");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    try {
      parseDigest(d);
    } catch {
      bad("the digest after '@' is not a valid sha256/sha512 digest");
    }
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad("tag must match [\\w][\\w.-]{0,127}");
  }
  if (rest.length === 0) bad("missing repository name");
  if (rest.length > NAME_MAX) bad(`name longer than ${NAME_MAX} characters`);
  const slash = rest.indexOf("/");
  let registry: string;
  let repository: string;
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (
    slash >= 0 &&
    (first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first !== first.toLowerCase())
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) bad(`registry '${registry}' is not a valid host[:port]`);
  } else {
    registry = "docker.io";
    repository = rest;
  }
  if (registry === "index.docker.io") registry = "docker.io";
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT.test(part)) {
      bad(
        "repository path components must be lowercase alphanumerics separated by '.', '_', '__' or '-'",
      );
    }
  }
  if (`${registry}/${repository}`.length > NAME_MAX) bad(`name longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository`, the name policy scopes and identities compare. */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The whole reference: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${referenceName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The tag or digest used to fetch the manifest (digest wins). */
export function referenceSelector(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** The host the distribution API is reached at (docker.io → registry-1.docker.io). */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? DOCKER_HUB_API_HOST : registry;
}
