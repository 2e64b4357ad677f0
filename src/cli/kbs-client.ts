/**
 * `coco kbs-client`: upstream's kbs-client. `attest` and `get-resource` run the RCAR handshake
 * with this machine's attester; `config … set-resource|set-resource-policy|
 * set-attestation-policy|delete-resource` call Trustee's admin API with a bearer token.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { detectAttester } from "../guest/aa/attester/detect.js";
import { createHttp } from "../guest/aa/kbs-client/http.js";
import { createRcarClient, kbsHttpError } from "../guest/aa/kbs-client/rcar.js";
import { resourceUriFromPath } from "../protocol/resource-uri/index.js";

interface Global {
  url: string;
  certFile?: string;
}

function certs(g: Global): string[] | undefined {
  return g.certFile ? [readFileSync(g.certFile, "utf8")] : undefined;
}

/** Registers `coco kbs-client`. */
export function registerKbsClient(program: Command): void {
  const kc = program
    .command("kbs-client")
    .description("talk to a KBS: attest, get-resource, admin config")
    .requiredOption("--url <url>", "KBS base URL")
    .option("--cert-file <pem>", "trusted root of an https KBS");
  const g = () => kc.opts<Global>();
  const rcar = async (initData?: string) => {
    const c = certs(g());
    return createRcarClient({
      url: g().url,
      ...(c ? { certs: c } : {}),
      attester: await detectAttester({ log: (l) => process.stderr.write(`${l}\n`) }),
      ...(initData !== undefined ? { initDataToml: initData } : {}),
    });
  };
  kc.command("attest")
    .description("attest and print the token")
    .option("--init-data <toml>", "init-data TOML text")
    .action(async (o: { initData?: string }) => {
      const client = await rcar(o.initData);
      try {
        process.stdout.write(`${(await client.attest()).content}\n`);
      } finally {
        client.close();
      }
    });
  kc.command("get-resource")
    .description("attest, fetch a resource, print it as standard base64")
    .requiredOption("--path <path>", "repo/type/tag or a kbs:// URI")
    .option("--init-data <toml>", "init-data TOML text")
    .action(async (o: { path: string; initData?: string }) => {
      const client = await rcar(o.initData);
      try {
        const data = await client.getResource(resourceUriFromPath(o.path));
        process.stdout.write(`${Buffer.from(data).toString("base64")}\n`);
      } finally {
        client.close();
      }
    });
  const config = kc
    .command("config")
    .description("admin API")
    .requiredOption("--admin-token-file <path>", "file holding the admin bearer JWT");
  const admin = async (
    method: "POST" | "GET",
    path: string,
    body: { json?: unknown; raw?: Uint8Array },
  ) => {
    const token = readFileSync(
      config.opts<{ adminTokenFile: string }>().adminTokenFile,
      "utf8",
    ).trim();
    const c = certs(g());
    const http = createHttp(g().url, c ? { certs: c } : {});
    try {
      const res = await http.request(method, path, { ...body, bearer: token });
      if (res.status !== 200) throw kbsHttpError(`admin ${path}`, res);
    } finally {
      http.close();
    }
  };
  config
    .command("set-resource")
    .requiredOption("--path <repo/type/tag>")
    .requiredOption("--resource-file <path>")
    .action(async (o: { path: string; resourceFile: string }) => {
      const u = resourceUriFromPath(o.path);
      await admin("POST", `/kbs/v0/resource/${u.segments.join("/")}`, {
        raw: readFileSync(o.resourceFile),
      });
    });
  config
    .command("set-resource-policy")
    .requiredOption("--policy-file <rego>")
    .action(async (o: { policyFile: string }) => {
      await admin("POST", "/kbs/v0/resource-policy", {
        json: { policy: readFileSync(o.policyFile).toString("base64url") },
      });
    });
  config
    .command("set-attestation-policy")
    .requiredOption("--policy-file <rego>")
    .option("--type <t>", "policy type", "rego")
    .option("--id <id>", "policy id", "default_cpu")
    .action(async (o: { policyFile: string; type: string; id: string }) => {
      await admin("POST", "/kbs/v0/attestation-policy", {
        json: {
          type: o.type,
          policy_id: o.id,
          policy: readFileSync(o.policyFile).toString("base64url"),
        },
      });
    });
}
