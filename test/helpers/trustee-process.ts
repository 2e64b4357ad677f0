import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import { type RunningProcess, startProcess } from "./process.js";

const exec = promisify(execFile);

/** The `coco` CLI next to this build. */
export const cocoCli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Our Trustee (`coco trustee`) running as a process, with admin helpers. */
export interface TrusteeProcess {
  url: string;
  /** Runs `coco <args>`; returns stdout. */
  coco(args: string[]): Promise<string>;
  /** `coco kbs-client config --admin-token-file … <args>`. */
  admin(args: string[]): Promise<void>;
  putResource(path: string, data: string | Uint8Array): Promise<void>;
  setResourcePolicy(rego: string): Promise<void>;
  /** Releases resources only to evidence whose init-data digest is `digestB64`. */
  pinInitData(digestB64: string): Promise<void>;
  /** File holding the admin bearer token. */
  adminTokenFile: string;
  stop(): Promise<void>;
}

/** Starts `coco trustee` on a free loopback port with a local-file store under `dir`. */
export async function startTrusteeProcess(dir: string): Promise<TrusteeProcess> {
  const admin = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "admin.pub"), admin.publicKey.export({ format: "pem", type: "spki" }));
  writeFileSync(join(dir, "admin.pem"), admin.privateKey.export({ format: "pem", type: "pkcs8" }), {
    mode: 0o600,
  });
  const port = await freePort();
  writeFileSync(
    join(dir, "kbs.toml"),
    `[http_server]
sockets = ["127.0.0.1:${port}"]
insecure_http = true

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "coco-pods", public_key_uri = "${join(dir, "admin.pub")}" }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "${join(dir, "kbs-store")}"

[[plugins]]
name = "resource"
`,
  );
  const proc: RunningProcess = await startProcess({
    name: "trustee",
    command: process.execPath,
    args: [cocoCli, "trustee", "-c", join(dir, "kbs.toml")],
    ready: { kind: "tcp", port },
  });
  const url = `http://127.0.0.1:${port}`;
  const coco = async (args: string[]) =>
    (await exec(process.execPath, [cocoCli, ...args], { maxBuffer: 8 << 20 })).stdout;
  const adminTokenFile = join(dir, "admin.jwt");
  writeFileSync(
    adminTokenFile,
    await coco([
      "trustee",
      "admin-token",
      "--key",
      join(dir, "admin.pem"),
      "--issuer",
      "coco-pods",
    ]),
    {
      mode: 0o600,
    },
  );
  let n = 0;
  const t: TrusteeProcess = {
    url,
    coco,
    adminTokenFile,
    admin: async (args) => {
      await coco([
        "kbs-client",
        "--url",
        url,
        "config",
        "--admin-token-file",
        adminTokenFile,
        ...args,
      ]);
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
    pinInitData: (digest) =>
      t.setResourcePolicy(
        `package policy\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tdata.plugin == "resource"\n\tinput.submods.cpu0["ear.veraison.annotated-evidence"].init_data == ${JSON.stringify(digest)}\n}\n`,
      ),
    stop: () => proc.stop(),
  };
  return t;
}
