/**
 * The guest's image pull service (what the pod agent calls through CDH `PullImage`): reads the
 * policy, signature config, credentials and registry config by resource URI (Trustee `kbs://`
 * or local files) on every pull, tries the registries.conf tasks in order, verifies the
 * signature policy against the reference as named (a mirror cannot change identity), decrypts
 * layers with keys unwrapped through Trustee, and unpacks into `<bundle>/rootfs`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  acceptAnything,
  createBlobStore,
  createPolicyVerifier,
  formatReference,
  type ImageVerifier,
  mergeRegistriesD,
  OciError,
  type PullResult,
  parseAuthFile,
  parsePolicy,
  parseReference,
  parseRegistriesConf,
  pullTasks,
  pullWithTasks,
  type RegistriesD,
} from "../../../oci/index.js";
import {
  checkTomlLimits,
  checkYamlLimits,
  createJsonScanner,
  ParseLimitError,
} from "../../../protocol/limits/index.js";
import { isResourceUri } from "../../../protocol/resource-uri/index.js";
import type { ImagePullConfig } from "./config.js";

/** I/O the service needs from the rest of CDH. */
export interface ImagePullDeps {
  config: ImagePullConfig;
  /** Fetches a `kbs://` resource through attestation (CDH GetResource). */
  getResource(uri: string): Promise<Uint8Array>;
  /** Unwraps a key-provider annotation packet (decoded bytes) into the layer options JSON. */
  unwrapKey(annotationPacket: Uint8Array): Promise<Uint8Array>;
  log?: (line: string) => void;
}

/** The pull service. */
export interface ImagePullService {
  /** Pulls `imageUrl` into `bundlePath`; returns the manifest digest. */
  pullImage(imageUrl: string, bundlePath: string): Promise<string>;
  /** The same, with the whole result. */
  pull(imageUrl: string, bundlePath: string): Promise<PullResult>;
}

/** Creates the service. */
export function createImagePullService(deps: ImagePullDeps): ImagePullService {
  const c = deps.config;
  const log = deps.log ?? (() => {});
  const store =
    c.layerStoreMaxBytes > 0
      ? createBlobStore(join(c.workDir, "store"), { maxBytes: c.layerStoreMaxBytes })
      : undefined;
  const read = async (uri: string): Promise<Uint8Array> => {
    if (isResourceUri(uri)) return deps.getResource(uri);
    const path = uri.startsWith("file://")
      ? new URL(uri).pathname
      : uri.includes("://")
        ? undefined
        : uri;
    if (path === undefined)
      throw new OciError(
        "ERR_OCI_RESOURCE",
        `unsupported resource URI scheme in '${uri.slice(0, 60)}'`,
      );
    try {
      return readFileSync(path);
    } catch (err) {
      throw new OciError("ERR_OCI_RESOURCE", `cannot read ${path}`, { cause: err });
    }
  };

  // Configuration fetched from Trustee or files is held to parse limits before it is parsed.
  const limited = (bytes: Uint8Array, kind: "json" | "toml" | "yaml", what: string) => {
    const max = 1 << 20;
    try {
      if (kind === "json") createJsonScanner({ maxBytes: max, maxStringBytes: max }).push(bytes);
      else if (kind === "toml") {
        checkTomlLimits(Buffer.from(bytes).toString("utf8"), {
          maxBytes: max,
          maxStringLength: max,
        });
      } else checkYamlLimits(Buffer.from(bytes).toString("utf8"), { maxBytes: max });
    } catch (err) {
      if (!(err instanceof ParseLimitError)) throw err;
      throw new OciError("ERR_OCI_RESOURCE", `${what}: ${err.message}`, { cause: err });
    }
    return bytes;
  };

  const pull = async (imageUrl: string, bundlePath: string): Promise<PullResult> => {
    const ref = parseReference(imageUrl);
    // Fresh on every pull: no on-disk cache of policies or keys, and no cached-image shortcut.
    const policyText =
      c.policyUri !== undefined
        ? limited(await read(c.policyUri), "json", "signature policy")
        : c.policy !== undefined
          ? Buffer.from(c.policy)
          : undefined;
    let registriesD: RegistriesD | undefined;
    if (c.sigstoreConfigUri !== undefined || c.sigstoreConfig !== undefined) {
      const y =
        c.sigstoreConfigUri !== undefined
          ? Buffer.from(
              limited(await read(c.sigstoreConfigUri), "yaml", "sigstore config"),
            ).toString("utf8")
          : c.sigstoreConfig!;
      registriesD = mergeRegistriesD({ docker: new Map() }, y, "sigstore config");
    }
    const auth =
      c.credentialsUri !== undefined
        ? parseAuthFile(limited(await read(c.credentialsUri), "json", "registry credentials"))
        : undefined;
    const regConf =
      c.registryConfig !== undefined
        ? parseRegistriesConf(c.registryConfig)
        : c.registryConfigUri !== undefined
          ? parseRegistriesConf(
              Buffer.from(
                limited(await read(c.registryConfigUri), "toml", "registries.conf"),
              ).toString("utf8"),
            )
          : undefined;
    const policy = policyText !== undefined ? parsePolicy(policyText) : undefined;
    if (policy === undefined)
      log(
        `image: no signature policy configured; ${formatReference(ref)} is accepted without checks`,
      );
    const tasks = regConf
      ? pullTasks(regConf, ref)
      : [{ reference: ref, insecure: false, kind: "original" as const }];
    const r = await pullWithTasks({
      reference: ref,
      tasks,
      registry: {
        ...(auth ? { auth } : {}),
        ...(c.extraRootCertificates.length ? { ca: c.extraRootCertificates } : {}),
      },
      verifierFor: (source): ImageVerifier =>
        policy
          ? createPolicyVerifier({
              policy,
              reference: ref,
              source,
              ...(registriesD ? { registriesD } : {}),
              getResource: deps.getResource,
              allowSha1: c.allowSha1Signatures,
              ...(c.extraRootCertificates.length ? { ca: c.extraRootCertificates } : {}),
              onDecision: (d) =>
                log(
                  `image: policy ${d.allow ? "allows" : "refuses"} ${formatReference(ref)} (scope ${d.scope})`,
                ),
            })
          : acceptAnything,
      pull: {
        bundleDir: bundlePath,
        keys: { unwrap: (packet) => deps.unwrapKey(packet) },
        concurrency: c.maxConcurrentLayerDownloads,
        ...(store ? { store } : {}),
      },
    });
    log(
      `image: pulled ${formatReference(ref)} from ${formatReference(r.task.reference)} (${r.task.kind}) as ${r.manifestDigest}`,
    );
    return r;
  };

  return {
    pull,
    pullImage: async (url, bundle) => (await pull(url, bundle)).manifestDigest,
  };
}
