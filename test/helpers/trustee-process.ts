import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sealSecret } from "../../src/protocol/sealed-secret/index.js";
import { freePort } from "./ports.js";
import { type RunningProcess, startProcess } from "./process.js";

const exec = promisify(execFile);

/** The `coco` CLI next to this build. */
export const cocoCli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Our Trustee (`coco trustee`) running as a process, with admin helpers. */
export interface TrusteeProcess {
  url: string;
  /** PID of the Trustee process. */
  pid: number;
  /** Runs `coco <args>`; returns stdout. */
  coco(args: string[]): Promise<string>;
  /** `coco kbs-client --url … config --admin-token-file … <args>` (with `--cert-file` over TLS). */
  admin(args: string[]): Promise<void>;
  putResource(path: string, data: string | Uint8Array): Promise<void>;
  setResourcePolicy(rego: string): Promise<void>;
  /** Releases every resource to any attested guest (`data.plugin == "resource"`). */
  allowAllResources(): Promise<void>;
  /** Releases resources only to evidence whose init-data digest is `digestB64`. */
  pinInitData(digestB64: string): Promise<void>;
  /**
   * Stores `value` at `path` and a fresh P-256 sealing key's public half at `keyPath`; returns
   * the vault sealed secret (`sealed.<jws>`) naming `kbs:///<path>`, signed by that key.
   */
  sealSecret(path: string, value: string, keyPath?: string): Promise<string>;
  /** File holding the admin bearer token. */
  adminTokenFile: string;
  stop(): Promise<void>;
}

/** Options for {@link startTrusteeProcess}. */
export interface TrusteeProcessOptions {
  /** Issuer of the admin token (default `coco-pods`; "" = none, the provider checks no issuer). */
  issuer?: string;
  /** Attestation token lifetime in minutes (default: Trustee's own, 5). */
  tokenMinutes?: number;
  /** Serve HTTPS with these PEM files instead of plain HTTP; `ca` is what clients trust. */
  tls?: { key: string; cert: string; ca: string };
}

/** The `kbs.toml` {@link startTrusteeProcess} writes: admin by bearer JWT, a local-file store. */
export function trusteeConfigToml(
  dir: string,
  port: number,
  opts: TrusteeProcessOptions = {},
): string {
  const http = opts.tls
    ? `insecure_http = false\nprivate_key = "${opts.tls.key}"\ncertificate = "${opts.tls.cert}"`
    : "insecure_http = true";
  const token =
    opts.tokenMinutes === undefined
      ? ""
      : `
[attestation_service]
timeout = 5

[attestation_service.attestation_token_broker]
duration_min = ${opts.tokenMinutes}
`;
  return `[http_server]
sockets = ["127.0.0.1:${port}"]
${http}

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ ${opts.issuer === "" ? "" : `issuer = "${opts.issuer ?? "coco-pods"}", `}public_key_uri = "${join(dir, "admin.pub")}" }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]
${token}
[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "kbs-store")}"

[[plugins]]
name = "resource"
`;
}

/**
 * Starts `coco trustee` on a free loopback port with a local-file store under `dir`, a fresh
 * admin key pair and an admin token minted by `coco trustee admin-token`.
 */
export async function startTrusteeProcess(
  dir: string,
  opts: TrusteeProcessOptions = {},
): Promise<TrusteeProcess> {
  const issuer = opts.issuer ?? "coco-pods";
  const admin = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "admin.pub"), admin.publicKey.export({ format: "pem", type: "spki" }));
  writeFileSync(join(dir, "admin.pem"), admin.privateKey.export({ format: "pem", type: "pkcs8" }), {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(join(dir, "kbs.toml"), trusteeConfigToml(dir, port, opts));
  const proc: RunningProcess = await startProcess({
    name: "trustee",
    command: process.execPath,
    args: [cocoCli, "trustee", "-c", join(dir, "kbs.toml")],
    ready: { kind: "tcp", port },
  });
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const coco = async (args: string[]) =>
    (await exec(process.execPath, [cocoCli, ...args], { maxBuffer: 8 << 20 })).stdout;
  const adminTokenFile = join(dir, "admin.jwt");
  try {
    writeFileSync(
      adminTokenFile,
      await coco([
        "trustee",
        "admin-token",
        "--key",
        join(dir, "admin.pem"),
        ...(issuer === "" ? [] : ["--issuer", issuer]),
      ]),
      { mode: 0o600 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const client = ["kbs-client", "--url", url, ...(opts.tls ? ["--cert-file", opts.tls.ca] : [])];
  let n = 0;
  const t: TrusteeProcess = {
    url,
    pid: proc.pid,
    coco,
    adminTokenFile,
    admin: async (args) => {
      await coco([...client, "config", "--admin-token-file", adminTokenFile, ...args]);
    },
    async putResource(path, data) {
      const f = join(dir, `resource-${++n}`);
      writeFileSync(f, data, { mode: 0o600 });
      await t.admin(["set-resource", "--path", path, "--resource-file", f]);
    },
    async setResourcePolicy(rego) {
      const f = join(dir, `policy-${++n}.rego`);
      writeFileSync(f, rego);
      await t.admin(["set-resource-policy", "--policy-file", f]);
    },
    allowAllResources: () =>
      t.setResourcePolicy(
        'package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tdata.plugin == "resource"\n}\n',
      ),
    pinInitData: (digest) =>
      t.setResourcePolicy(
        `package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tdata.plugin == "resource"\n\tinput.submods.cpu0["ear.veraison.annotated-evidence"].init_data == ${JSON.stringify(digest)}\n}\n`,
      ),
    async sealSecret(path, value, keyPath = "default/sealing-key/1") {
      const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
        format: "jwk",
      });
      await t.putResource(
        keyPath,
        JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y }),
      );
      await t.putResource(path, value);
      return sealSecret(
        {
          version: "0.1.0",
          type: "vault",
          name: `kbs:///${path}`,
          provider: "kbs",
          provider_settings: {},
          annotations: {},
        },
        signing,
        `kbs:///${keyPath}`,
      );
    },
    stop: () => proc.stop(),
  };
  return t;
}
