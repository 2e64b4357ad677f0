/**
 * `coco secret`: upstream's `secret` tool. `seal … vault|envelope` signs a sealed secret with a
 * P-256 JWK, `keygen` writes a signing key pair, `unseal` asks a running CDH.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { writeSecretFile } from "../guest/cdh/credentials.js";
import { aesGcmEncrypt } from "../guest/cdh/secret/aes.js";
import { parseResourceUri } from "../protocol/resource-uri/index.js";
import {
  type EnvelopeSecret,
  sealSecret,
  type VaultSecret,
} from "../protocol/sealed-secret/index.js";
import { unsealThroughCdh } from "./guest-common.js";

function jsonMap(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined) return {};
  const v = JSON.parse(text) as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Registers `coco secret`. */
export function registerSecret(program: Command): void {
  const secret = program.command("secret").description("sealed secrets: seal, keygen, unseal");
  const seal = secret
    .command("seal")
    .description("seal a secret (prints sealed.<jws>)")
    .requiredOption(
      "--signing-kid <kid>",
      "kid put in the header (a kbs:// URI or a file name under CDH's sealed-secret folder)",
    )
    .requiredOption("--signing-jwk-path <path>", "private P-256 JWK");
  const signer = () => {
    const o = seal.opts<{ signingKid: string; signingJwkPath: string }>();
    return {
      kid: o.signingKid,
      jwk: JSON.parse(readFileSync(o.signingJwkPath, "utf8")) as unknown,
    };
  };
  seal
    .command("vault")
    .requiredOption("--resource-uri <uri>", "where the plaintext lives (kbs:///repo/type/tag)")
    .option("--provider <p>", "vault provider", "kbs")
    .option("--provider-settings <json>", "provider settings JSON")
    .option("--annotations <json>", "annotations JSON")
    .action(
      async (o: {
        resourceUri: string;
        provider: string;
        providerSettings?: string;
        annotations?: string;
      }) => {
        if (o.provider.toLowerCase() === "kbs") parseResourceUri(o.resourceUri);
        const payload: VaultSecret = {
          version: "0.1.0",
          type: "vault",
          name: o.resourceUri,
          provider: o.provider,
          provider_settings: jsonMap(o.providerSettings, "--provider-settings"),
          annotations: jsonMap(o.annotations, "--annotations"),
        };
        const s = signer();
        process.stdout.write(`${await sealSecret(payload, s.jwk, s.kid)}\n`);
      },
    );
  const envelope = seal
    .command("envelope")
    .requiredOption(
      "--key-id <id>",
      "KMS key id (for provider kbs: the kbs:// URI of a 32-byte KEK)",
    )
    .requiredOption("--file-path <path>", "plaintext file");
  envelope
    .command("kbs")
    .description("coco-ts extension: the DEK is wrapped under a KEK stored in Trustee")
    .requiredOption("--kek-path <path>", "the 32-byte KEK (the same bytes stored at --key-id)")
    .action(async (o: { kekPath: string }) => {
      const e = envelope.opts<{ keyId: string; filePath: string }>();
      parseResourceUri(e.keyId);
      const kek = readFileSync(o.kekPath);
      if (kek.length !== 32) throw new Error("--kek-path must hold exactly 32 bytes");
      const dek = randomBytes(32);
      const wrapped = aesGcmEncrypt(kek, dek);
      const data = aesGcmEncrypt(dek, readFileSync(e.filePath));
      const payload: EnvelopeSecret = {
        version: "0.1.0",
        type: "envelope",
        key_id: e.keyId,
        encrypted_key: Buffer.concat([wrapped.iv, wrapped.data]).toString("base64"),
        encrypted_data: Buffer.from(data.data).toString("base64"),
        wrap_type: "A256GCM",
        iv: Buffer.from(data.iv).toString("base64"),
        provider: "kbs",
        provider_settings: {},
        annotations: {},
      };
      const s = signer();
      process.stdout.write(`${await sealSecret(payload, s.jwk, s.kid)}\n`);
    });
  for (const p of ["ali", "aws", "ehsm"]) {
    envelope
      .command(p)
      .description(`${p} KMS (not implemented in coco-ts)`)
      .action(() => {
        throw Object.assign(new Error(`envelope provider ${p} is not implemented in coco-ts`), {
          code: "ERR_CDH_KMS_UNSUPPORTED",
        });
      });
  }
  secret
    .command("keygen")
    .requiredOption("--kid <kid>")
    .requiredOption("--output-dir <dir>")
    .action((o: { kid: string; outputDir: string }) => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const j = privateKey.export({ format: "jwk" });
      const pub = createPublicKey(privateKey).export({ format: "jwk" });
      const base = {
        kty: "EC",
        crv: "P-256",
        alg: "ES256",
        use: "sig",
        kid: o.kid,
        x: pub.x,
        y: pub.y,
      };
      mkdirSync(o.outputDir, { recursive: true });
      writeSecretFile(
        join(o.outputDir, `${o.kid}-private.json`),
        Buffer.from(JSON.stringify({ ...base, d: j.d })),
      );
      writeSecretFile(join(o.outputDir, `${o.kid}-public.json`), Buffer.from(JSON.stringify(base)));
      process.stdout.write(
        `${join(o.outputDir, `${o.kid}-private.json`)}\n${join(o.outputDir, `${o.kid}-public.json`)}\n`,
      );
    });
  secret
    .command("unseal")
    .description("unseal through a running CDH")
    .requiredOption("--file-path <path>", "file holding the sealed secret")
    .option("--socket <addr>", "CDH ttrpc address", "unix:///run/confidential-containers/cdh.sock")
    .action(async (o: { filePath: string; socket: string }) => {
      process.stdout.write(Buffer.from(await unsealThroughCdh(o.socket, o.filePath)));
    });
}
