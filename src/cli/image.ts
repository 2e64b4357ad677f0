/**
 * `coco image`: the data owner's and the guest's image tools — `pull` (verify, decrypt, unpack
 * into a bundle), `verify` (policy decision only), `encrypt` (ocicrypt, JWE or a key held by
 * Trustee) and `sign` (cosign attachment or GPG simple signing to lookaside). Transports and
 * flag names follow skopeo where the meaning is the same.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import {
  acceptAnything,
  attachCosignSignature,
  createKeyReader,
  createPolicyVerifier,
  type DecryptionKeys,
  encryptImage,
  evaluatePolicy,
  formatReference,
  type ImageVerifier,
  loadCosignPrivateKey,
  loadPrivateKey,
  loadPublicKey,
  loadRegistriesD,
  normalizeKid,
  OciError,
  openImageDestination,
  openImageSource,
  type PullProgress,
  parseAuthFile,
  parseImageLocation,
  parsePolicy,
  parseRegistriesConf,
  pullImage,
  pullTasks,
  pullWithTasks,
  type RegistryOptions,
  referenceName,
  resolveImage,
  signToLookaside,
  storeKeyInTrustee,
  type UnpackRules,
} from "../oci/index.js";

interface RegistryFlags {
  authfile?: string;
  tlsVerify?: string;
  certDir?: string;
}

/** commander keeps `--registries.d` as the key `registries.d`. */
function registriesDir(o: object): string | undefined {
  const v = (o as Record<string, unknown>)["registries.d"];
  return typeof v === "string" ? v : undefined;
}

function bool(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new OciError("ERR_OCI_CONFIG", `${name} must be true or false`);
}

function registryOptions(f: RegistryFlags, tlsVerify = f.tlsVerify): RegistryOptions {
  const o: RegistryOptions = {};
  if (f.authfile !== undefined) o.auth = parseAuthFile(readFileSync(f.authfile));
  const tv = bool(tlsVerify, "--tls-verify");
  if (tv !== undefined) o.tlsVerify = tv;
  if (f.certDir !== undefined) {
    o.ca = readdirSync(f.certDir)
      .filter((n) => n.endsWith(".crt"))
      .map((n) => readFileSync(join(f.certDir!, n), "utf8"));
  }
  return o;
}

function withRegistryFlags(c: Command, prefix = ""): Command {
  return c
    .option(`--${prefix}authfile <file>`, "containers auth.json with registry credentials")
    .option(
      `--${prefix}tls-verify <bool>`,
      "require HTTPS and verify certificates (false allows HTTP)",
    )
    .option(`--${prefix}cert-dir <dir>`, "extra CA certificates (*.crt) for the registry");
}

function progressPrinter(): ((p: PullProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let total = 0;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return (p) => {
    if (p.kind === "manifest") {
      total = p.layers;
      process.stderr.write(`pulling ${p.digest}: ${p.layers} layers, ${mib(p.bytes)} MiB\n`);
    } else if (p.kind === "layer-bytes") {
      process.stderr.write(`\r  layer ${p.index + 1}/${total}: ${mib(p.done)}/${mib(p.total)} MiB`);
    } else {
      process.stderr.write(
        `\r  layer ${p.index + 1}/${total} ${p.digest.slice(0, 19)}… ${mib(p.bytes)} MiB, ${p.entries} entries\n`,
      );
    }
  };
}

function decryptionKeys(keys: string[]): DecryptionKeys | undefined {
  if (keys.length === 0) return undefined;
  return {
    privateKeys: keys.map((k) => {
      const spec = k.startsWith("jwe:") ? k.slice(4) : k;
      if (spec.startsWith("provider:")) {
        throw new OciError(
          "ERR_OCI_NOT_IMPLEMENTED",
          "key-provider decryption runs in the guest (CDH image pull service), not in this command",
        );
      }
      return loadPrivateKey(readFileSync(spec));
    }),
  };
}

function policyVerifier(
  o: { policy?: string; insecurePolicy?: boolean; allowSha1Signatures?: boolean },
  loc: ReturnType<typeof parseImageLocation>,
  source: Parameters<typeof createPolicyVerifier>[0]["source"],
  ca?: string[],
): ImageVerifier {
  if (o.insecurePolicy === true) return acceptAnything;
  const file = o.policy ?? "/etc/containers/policy.json";
  if (!existsSync(file))
    throw new OciError(
      "ERR_OCI_POLICY",
      `no signature policy at ${file}: pass --policy FILE (or --insecure-policy to accept any image)`,
    );
  if (loc.transport !== "docker") {
    const p = parsePolicy(readFileSync(file));
    return async (image) => {
      const d = await evaluatePolicy(
        p,
        { registry: "", repository: "" },
        image,
        {
          readKey: createKeyReader(),
          simpleSignatures: async () => [],
          cosignSignatures: async () => [],
        },
        "oci",
      );
      if (!d.allow)
        throw new OciError(
          "ERR_OCI_POLICY_DENIED",
          `image refused by the signature policy (scope ${d.scope}): ${d.reasons.join("; ")}`,
        );
    };
  }
  return createPolicyVerifier({
    policy: parsePolicy(readFileSync(file)),
    reference: loc.reference,
    source,
    ...(registriesDir(o) ? { registriesD: loadRegistriesD(registriesDir(o)!) } : {}),
    allowSha1: o.allowSha1Signatures === true,
    ...(ca ? { ca } : {}),
  });
}

/** Registers `coco image`. */
export function registerImage(program: Command): void {
  const image = program
    .command("image")
    .description("confidential images: pull, verify, encrypt, sign");

  withRegistryFlags(
    image
      .command("pull")
      .description(
        "pull REF, check its signature policy, decrypt and unpack it into BUNDLE_DIR (rootfs + config.json)",
      )
      .argument("<ref>", "docker://REF, a bare reference, or oci:DIR[:TAG]")
      .argument("<bundle>", "bundle directory to create"),
  )
    .option("--policy <file>", "containers-policy.json (default /etc/containers/policy.json)")
    .option("--insecure-policy", "accept any image without a policy")
    .option("--registries.d <dir>", "registries.d lookaside configuration for GPG signatures")
    .option(
      "--decryption-key <key>",
      "private key for JWE recipients: [jwe:]PRIV.pem (repeatable)",
      (v: string, a: string[]) => [...a, v],
      [] as string[],
    )
    .option("--allow-sha1-signatures", "accept GPG signatures made with SHA-1")
    .option("--devices <rule>", "device nodes in layers: reject | skip | create", "reject")
    .option("--setuid <rule>", "setuid/setgid bits: keep | strip | reject", "keep")
    .option("--platform <os/arch>", "platform to choose from an index")
    .option("--image-parallel-copies <n>", "layers downloaded concurrently (default 3)")
    .option(
      "--registries-conf <file>",
      "registries.conf: mirrors, remapped locations, insecure and blocked registries",
    )
    .action(
      async (
        ref: string,
        bundle: string,
        o: RegistryFlags & {
          policy?: string;
          insecurePolicy?: boolean;
          decryptionKey: string[];
          allowSha1Signatures?: boolean;
          devices: string;
          setuid: string;
          platform?: string;
          registriesConf?: string;
          imageParallelCopies?: string;
        },
      ) => {
        const loc = parseImageLocation(ref);
        const { source, selector } = openImageSource(loc, registryOptions(o));
        try {
          if (!["reject", "skip", "create"].includes(o.devices))
            throw new OciError("ERR_OCI_CONFIG", "--devices must be reject, skip or create");
          if (!["keep", "strip", "reject"].includes(o.setuid))
            throw new OciError("ERR_OCI_CONFIG", "--setuid must be keep, strip or reject");
          const keys = decryptionKeys(o.decryptionKey);
          const onProgress = progressPrinter();
          const platform = o.platform?.split("/");
          const parallel =
            o.imageParallelCopies === undefined ? undefined : Number(o.imageParallelCopies);
          if (
            parallel !== undefined &&
            (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)
          ) {
            throw new OciError(
              "ERR_OCI_CONFIG",
              "--image-parallel-copies must be an integer 1..64",
            );
          }
          const common = {
            bundleDir: bundle,
            ...(parallel !== undefined ? { concurrency: parallel } : {}),
            rules: {
              devices: o.devices as UnpackRules["devices"],
              setuid: o.setuid as UnpackRules["setuid"],
            },
            ...(keys ? { keys } : {}),
            ...(onProgress ? { onProgress } : {}),
            ...(platform && platform.length >= 2
              ? {
                  platform: {
                    os: platform[0]!,
                    architecture: platform[1]!,
                    ...(platform[2] ? { variant: platform[2] } : {}),
                  },
                }
              : {}),
          };
          const res =
            loc.transport === "docker" && o.registriesConf !== undefined
              ? await pullWithTasks({
                  reference: loc.reference,
                  tasks: pullTasks(
                    parseRegistriesConf(readFileSync(o.registriesConf, "utf8")),
                    loc.reference,
                  ),
                  registry: registryOptions(o),
                  verifierFor: (s) => policyVerifier(o, loc, s, registryOptions(o).ca),
                  pull: common,
                })
              : await pullImage({
                  ...common,
                  source,
                  selector,
                  verify: policyVerifier(o, loc, source, registryOptions(o).ca),
                });
          for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
          process.stdout.write(
            `${JSON.stringify({ manifestDigest: res.manifestDigest, configDigest: res.configDigest, rootfs: res.rootfs, layers: res.layers.length })}\n`,
          );
        } finally {
          source.close();
        }
      },
    );

  withRegistryFlags(
    image
      .command("verify")
      .description(
        "evaluate the signature policy for REF and print the decision (exit 1 when refused)",
      )
      .argument("<ref>", "docker://REF or a bare reference"),
  )
    .requiredOption("--policy <file>", "containers-policy.json")
    .option("--registries.d <dir>", "registries.d lookaside configuration")
    .option("--allow-sha1-signatures", "accept GPG signatures made with SHA-1")
    .action(
      async (ref: string, o: RegistryFlags & { policy: string; allowSha1Signatures?: boolean }) => {
        const loc = parseImageLocation(ref);
        if (loc.transport !== "docker")
          throw new OciError("ERR_OCI_REFERENCE", "verify needs a registry reference");
        const { source, selector } = openImageSource(loc, registryOptions(o));
        try {
          const img = await resolveImage(source, selector);
          const dirD = registriesDir(o);
          const cfg = dirD ? loadRegistriesD(dirD) : undefined;
          let decision: unknown;
          const verify = createPolicyVerifier({
            policy: parsePolicy(readFileSync(o.policy)),
            reference: loc.reference,
            source,
            ...(cfg ? { registriesD: cfg } : {}),
            allowSha1: o.allowSha1Signatures === true,
            ...(registryOptions(o).ca ? { ca: registryOptions(o).ca! } : {}),
            onDecision: (d) => {
              decision = d;
            },
          });
          await verify(img).catch(() => {});
          process.stdout.write(
            `${JSON.stringify({ reference: formatReference(loc.reference), manifestDigest: img.manifestDigest, ...(decision as object) })}\n`,
          );
          if ((decision as { allow?: boolean }).allow !== true) process.exitCode = 1;
        } finally {
          source.close();
        }
      },
    );

  image
    .command("encrypt")
    .description("copy SRC to DST encrypting every layer (ocicrypt AES-256-CTR-HMAC)")
    .argument("<src>", "source image (docker://REF or oci:DIR[:TAG])")
    .argument("<dst>", "destination image (docker://REF or oci:DIR[:TAG])")
    .option(
      "--key <recipient>",
      "jwe:PUB.pem recipient (repeatable)",
      (v: string, a: string[]) => [...a, v],
      [] as string[],
    )
    .option(
      "--kbs-key <kid>",
      "generate a key, store it in Trustee as this resource (kbs:///default/key/1)",
    )
    .option("--kbs-url <url>", "Trustee KBS URL for --kbs-key")
    .option("--kbs-admin-key <file>", "admin private key (PEM) to sign the admin token")
    .option("--kbs-admin-token-file <file>", "file holding a ready admin bearer token")
    .option("--kbs-cert <file>", "CA certificate for an HTTPS KBS")
    .option(
      "--kbs-key-out <file>",
      "without --kbs-url: write the generated key here (mode 0600) for manual upload",
    )
    .option("--authfile <file>", "auth.json for both registries")
    .option("--src-tls-verify <bool>", "verify the source registry TLS (false allows HTTP)")
    .option("--dest-tls-verify <bool>", "verify the destination registry TLS (false allows HTTP)")
    .action(
      async (
        src: string,
        dst: string,
        o: {
          key: string[];
          kbsKey?: string;
          kbsUrl?: string;
          kbsAdminKey?: string;
          kbsAdminTokenFile?: string;
          kbsCert?: string;
          kbsKeyOut?: string;
          authfile?: string;
          srcTlsVerify?: string;
          destTlsVerify?: string;
        },
      ) => {
        const jwe = o.key.map((k) => {
          if (!k.startsWith("jwe:"))
            throw new OciError(
              "ERR_OCI_NOT_IMPLEMENTED",
              `recipient '${k.split(":")[0]}' is not supported (jwe:PUB.pem, or --kbs-key)`,
            );
          return loadPublicKey(readFileSync(k.slice(4)));
        });
        let kbs: { kid: string; kek: Uint8Array } | undefined;
        if (o.kbsKey !== undefined) {
          const kid = normalizeKid(o.kbsKey);
          const kek = randomBytes(32);
          if (o.kbsUrl !== undefined) {
            let token: string;
            if (o.kbsAdminTokenFile !== undefined)
              token = readFileSync(o.kbsAdminTokenFile, "utf8").trim();
            else if (o.kbsAdminKey !== undefined) {
              // Loaded only here, so image commands do not depend on the Trustee modules.
              const { mintAdminToken, parsePrivateKeyPem } = await import(
                "../trustee/kbs/index.js"
              );
              token = await mintAdminToken(parsePrivateKeyPem(readFileSync(o.kbsAdminKey)));
            } else
              throw new OciError(
                "ERR_OCI_CONFIG",
                "--kbs-url needs --kbs-admin-key or --kbs-admin-token-file",
              );
            await storeKeyInTrustee({
              kbsUrl: o.kbsUrl,
              kid,
              key: kek,
              adminToken: token,
              ...(o.kbsCert ? { ca: [readFileSync(o.kbsCert, "utf8")] } : {}),
            });
          } else if (o.kbsKeyOut !== undefined) {
            const tmp = `${o.kbsKeyOut}.tmp-${randomBytes(4).toString("hex")}`;
            writeFileSync(tmp, kek, { mode: 0o600 });
            renameSync(tmp, o.kbsKeyOut);
          } else {
            throw new OciError(
              "ERR_OCI_CONFIG",
              "--kbs-key needs --kbs-url (store in Trustee) or --kbs-key-out (write it for manual upload)",
            );
          }
          kbs = { kid, kek };
        }
        const base: RegistryFlags = o.authfile ? { authfile: o.authfile } : {};
        const sloc = parseImageLocation(src);
        const dloc = parseImageLocation(dst);
        const { source, selector } = openImageSource(sloc, registryOptions(base, o.srcTlsVerify));
        const { dest, tag } = openImageDestination(dloc, registryOptions(base, o.destTlsVerify));
        try {
          const digest = await encryptImage(source, selector, dest, tag, {
            ...(jwe.length ? { jwe } : {}),
            ...(kbs ? { kbs } : {}),
          });
          process.stdout.write(
            `${JSON.stringify({ manifestDigest: digest, destination: dst, ...(kbs ? { kid: kbs.kid } : {}) })}\n`,
          );
        } finally {
          source.close();
          dest.close();
        }
      },
    );

  withRegistryFlags(
    image
      .command("sign")
      .description(
        "sign REF: a cosign signature attached in the registry (--key) or a GPG simple signature in lookaside (--gpg-key)",
      )
      .argument("<ref>", "docker://REF or a bare reference"),
  )
    .option(
      "--key <file>",
      "cosign private key (cosign.key; password from COSIGN_PASSWORD) or a PEM private key",
    )
    .option("--gpg-key <fingerprint>", "GPG key fingerprint (keys from GNUPGHOME)")
    .option(
      "--registries.d <dir>",
      "registries.d with a sigstore-staging/lookaside-staging file:// URL",
    )
    .action(async (ref: string, o: RegistryFlags & { key?: string; gpgKey?: string }) => {
      const loc = parseImageLocation(ref);
      if (loc.transport !== "docker")
        throw new OciError("ERR_OCI_REFERENCE", "sign needs a registry reference");
      if ((o.key === undefined) === (o.gpgKey === undefined))
        throw new OciError("ERR_OCI_CONFIG", "give exactly one of --key or --gpg-key");
      const opts = registryOptions(o);
      const { source, selector } = openImageSource(loc, opts);
      try {
        const img = await resolveImage(source, selector);
        const digest = img.listDigest ?? img.manifestDigest;
        if (o.key !== undefined) {
          const key = loadCosignPrivateKey(readFileSync(o.key), process.env.COSIGN_PASSWORD);
          const { dest } = openImageDestination(loc, opts);
          try {
            await attachCosignSignature(dest, source, referenceName(loc.reference), digest, key);
          } finally {
            dest.close();
          }
          process.stdout.write(
            `${JSON.stringify({ signed: `${referenceName(loc.reference)}@${digest}`, kind: "cosign" })}\n`,
          );
        } else {
          const dirD = registriesDir(o);
          if (dirD === undefined)
            throw new OciError(
              "ERR_OCI_CONFIG",
              "--gpg-key needs --registries.d naming the lookaside staging directory",
            );
          const path = await signToLookaside(
            loadRegistriesD(dirD),
            loc.reference,
            formatReference(loc.reference),
            img.manifestDigest,
            o.gpgKey!,
          );
          process.stdout.write(
            `${JSON.stringify({ signed: `${formatReference(loc.reference)}@${img.manifestDigest}`, kind: "gpg", signature: path })}\n`,
          );
        }
      } finally {
        source.close();
      }
    });
}
