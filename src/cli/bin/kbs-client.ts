#!/usr/bin/env node
/**
 * `kbs-client`: drop-in for Trustee's `tools/kbs-client` (same subcommands, flags, positional
 * init-data, admin-token lookup and output lines). Attestation uses this machine's attester
 * (the sample TEE outside a TEE), as upstream's client built with the sample attester.
 */
import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import type { Command } from "commander";
import { detectAttester } from "../../guest/aa/attester/detect.js";
import { createHttp } from "../../guest/aa/kbs-client/http.js";
import {
  createRcarClient,
  kbsHttpError,
  type TeeKey,
  teeKeyFromPem,
} from "../../guest/aa/kbs-client/rcar.js";
import { createTokenKbsClient } from "../../guest/aa/kbs-client/token-client.js";
import { resourceUriFromPath } from "../../protocol/resource-uri/index.js";
import {
  RESOURCE_POLICY_AFFIRMING,
  RESOURCE_POLICY_ALLOW_ALL,
  RESOURCE_POLICY_DENY_ALL,
} from "../../trustee/as/policy/default-policies.js";
import { type AdminStream, addKbsAdminCommands } from "../kbs-admin.js";
import { DropInError, dropInProgram, isMain, runDropIn } from "./common.js";

/** Where upstream looks for an admin token when `--admin-token-file` is absent. */
export const DOCKER_COMPOSE_ADMIN_TOKEN_PATH = "kbs/config/docker-compose/admin-token";

/**
 * The admin token: `--admin-token-file`, else `kbs/config/docker-compose/admin-token` (from
 * the working folder), else `~/.trustee/admin-token`, else none (anonymous, as upstream).
 */
export function resolveAdminToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): string | undefined {
  if (file !== undefined) return readFileSync(file, "utf8").trim();
  const compose = join(cwd, DOCKER_COMPOSE_ADMIN_TOKEN_PATH);
  if (existsSync(compose)) return readFileSync(compose, "utf8").trim();
  if (env.HOME) {
    const p = join(env.HOME, ".trustee", "admin-token");
    if (existsSync(p)) return readFileSync(p, "utf8").trim();
  }
  return undefined;
}

interface Global {
  url: string;
  certFile?: string;
}

/** Builds the `kbs-client` program. */
export function kbsClientProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = dropInProgram("kbs-client", "A command line client tool for KBS APIs");
  return addKbsClientCommands(program, env, "upstream");
}

/**
 * Which client: `upstream` prints upstream's lines (including the base64 of what it uploaded);
 * `coco` (`coco kbs-client`) never echoes an uploaded resource or policy and also takes
 * `--init-data <toml>` where upstream takes the init-data as a positional argument.
 */
export type KbsClientFlavor = "upstream" | "coco";

/**
 * Adds kbs-client's options and subcommands to `program`: upstream's (`attest`,
 * `get-resource`, `config ...`) and ours under `config` (reference values with provenance and
 * expiry, events; see `../kbs-admin.ts`). Both `kbs-client` and `coco kbs-client` are built here.
 */
export function addKbsClientCommands(
  program: Command,
  env: NodeJS.ProcessEnv,
  flavor: KbsClientFlavor,
): Command {
  program
    .option("--url <url>", "The KBS server root URL", "http://127.0.0.1:8080")
    .option(
      "--cert-file <path>",
      "The KBS HTTPS server custom root certificate file path (PEM format)",
    );
  const g = () => program.opts<Global>();
  const certs = () => (g().certFile ? [readFileSync(g().certFile as string, "utf8")] : []);
  const warn = (l: string) => process.stderr.write(`kbs-client: WARN ${l}\n`);
  const teeKeyOf = (file: string | undefined): TeeKey | undefined =>
    file === undefined ? undefined : teeKeyFromPem(readFileSync(file, "utf8"));
  const rcar = async (teeKey: TeeKey | undefined, initData: string | undefined) =>
    createRcarClient({
      url: g().url,
      certs: certs(),
      attester: await detectAttester({ env, log: (l) => process.stderr.write(`${l}\n`) }),
      ...(teeKey ? { teeKey } : {}),
      ...(initData !== undefined ? { initDataToml: initData } : {}),
    });

  const initDataOption = (c: Command) =>
    flavor === "coco" ? c.option("--init-data <toml>", "InitData plaintext") : c;
  initDataOption(
    program
      .command("attest")
      .description("Attestation and get attestation results token")
      .option("--tee-key-file <path>", "Custom TEE private key file path (PEM format)")
      .argument("[init_data]", "InitData plaintext"),
  ).action(
    async (positional: string | undefined, o: { teeKeyFile?: string; initData?: string }) => {
      const initData = o.initData ?? positional;
      const client = await rcar(teeKeyOf(o.teeKeyFile), initData);
      try {
        process.stdout.write(`${(await client.attest()).content}\n`);
      } finally {
        client.close();
      }
    },
  );

  initDataOption(
    program
      .command("get-resource")
      .description("Get confidential resource")
      .requiredOption("--path <path>", "KBS Resource path, e.g my_repo/resource_type/123abc")
      .option("--tee-key-file <path>", "Custom TEE private key file path (PEM format)")
      .option("--attestation-token <path>", "Attestation Token file path (needs --tee-key-file)")
      .argument("[init_data]", "InitData plaintext"),
  ).action(
    async (
      positional: string | undefined,
      o: { path: string; teeKeyFile?: string; attestationToken?: string; initData?: string },
    ) => {
      const initData = o.initData ?? positional;
      const uri = resourceUriFromPath(o.path);
      let data: Uint8Array;
      if (o.attestationToken !== undefined) {
        if (o.teeKeyFile === undefined) {
          throw new DropInError(
            "ERR_DROPIN_USAGE",
            "if `--attestation-token` is set, `--tee_key_file` argument should also be set, and the public part of TEE Key should be consistent with tee-pubkey in the token.",
          );
        }
        const token = readFileSync(o.attestationToken, "utf8").trim();
        const teeKeyPem = readFileSync(o.teeKeyFile, "utf8");
        const client = createTokenKbsClient({
          url: g().url,
          certs: certs(),
          tokenProvider: async () => ({ token, teeKeyPem }),
        });
        try {
          data = await client.getResource(uri);
        } finally {
          client.close();
        }
      } else {
        const client = await rcar(teeKeyOf(o.teeKeyFile), initData);
        try {
          data = await client.getResource(uri);
        } finally {
          client.close();
        }
      }
      process.stdout.write(`${Buffer.from(data).toString("base64")}\n`);
    },
  );

  const config = program
    .command("config")
    .description("Set and Config KBS")
    .option("--admin-token-file <path>", "Optional admin bearer token file path");
  const admin = async (
    method: "POST" | "GET" | "DELETE",
    path: string,
    body: { json?: unknown; raw?: Uint8Array },
  ): Promise<Uint8Array> => {
    const token = resolveAdminToken(config.opts<{ adminTokenFile?: string }>().adminTokenFile, env);
    if (token === undefined) {
      warn(
        "No admin token configured. Sending anonymous admin requests; this only works when KBS admin authorization_mode is InsecureAllowAll.",
      );
    }
    const http = createHttp(g().url, { certs: certs() });
    try {
      const res = await http.request(method, path, {
        ...body,
        ...(token !== undefined ? { bearer: token } : {}),
      });
      if (res.status !== 200) throw kbsHttpError(`admin ${method} ${path}`, res);
      return res.body;
    } finally {
      http.close();
    }
  };
  // Upstream echoes what it uploaded; `coco kbs-client` never prints a secret.
  const b64 = (b: Uint8Array) =>
    flavor === "upstream" ? Buffer.from(b).toString("base64") : `(${b.length} bytes)`;

  config
    .command("set-attestation-policy")
    .description("Set attestation verification policy")
    .option("--type <type>", 'Policy format type, e.g "rego"')
    .option("--id <id>", 'Policy ID, e.g "default"')
    .requiredOption("--policy-file <path>", "Policy file path")
    .action(async (o: { type?: string; id?: string; policyFile: string }) => {
      const policy = readFileSync(o.policyFile);
      if (o.id === undefined) warn("no policy_id set; using default_cpu");
      await admin("POST", "/kbs/v0/attestation-policy", {
        json: {
          type: o.type ?? "rego",
          policy_id: o.id ?? "default_cpu",
          policy: policy.toString("base64url"),
        },
      });
      process.stdout.write(`Set attestation policy success \n policy: ${b64(policy)}\n`);
    });

  config
    .command("set-resource-policy")
    .description("Set resource policy")
    .option("--policy-file <path>", "Policy file path")
    .option("--allow-all", "built-in policy that allows access to all resources")
    .option("--deny-all", "built-in policy that does not allow access to any resources")
    .option("--affirming", "built-in policy: release only on an affirming token")
    .option("--default", "built-in default policy (upstream sends deny_all.rego)")
    .action(
      async (o: {
        policyFile?: string;
        allowAll?: boolean;
        denyAll?: boolean;
        affirming?: boolean;
        default?: boolean;
      }) => {
        const chosen = [o.policyFile !== undefined, o.allowAll, o.denyAll, o.affirming, o.default];
        if (chosen.filter(Boolean).length > 1) {
          throw new DropInError(
            "ERR_DROPIN_USAGE",
            "--policy-file, --allow-all, --deny-all, --affirming and --default cannot be used together",
          );
        }
        // Upstream's `--default` sends deny_all.rego (kept: the bytes are what matter).
        const policy =
          o.policyFile !== undefined
            ? readFileSync(o.policyFile)
            : o.allowAll
              ? Buffer.from(RESOURCE_POLICY_ALLOW_ALL)
              : o.denyAll || o.default
                ? Buffer.from(RESOURCE_POLICY_DENY_ALL)
                : o.affirming
                  ? Buffer.from(RESOURCE_POLICY_AFFIRMING)
                  : undefined;
        if (policy === undefined) throw new DropInError("ERR_DROPIN_USAGE", "No policy specified");
        await admin("POST", "/kbs/v0/resource-policy", {
          json: { policy: policy.toString("base64url") },
        });
        process.stdout.write(`Set resource policy success \n policy: ${b64(policy)}\n`);
      },
    );

  config
    .command("set-resource")
    .description("Set confidential resource")
    .requiredOption("--path <path>", "KBS Resource path, e.g my_repo/resource_type/123abc")
    .requiredOption("--resource-file <path>", "Resource file path")
    .action(async (o: { path: string; resourceFile: string }) => {
      const data = readFileSync(o.resourceFile);
      const u = resourceUriFromPath(o.path);
      await admin("POST", `/kbs/v0/resource/${u.segments.join("/")}`, { raw: data });
      process.stdout.write(`Set resource success \n resource: ${b64(data)}\n`);
    });

  config
    .command("delete-resource")
    .description("Delete confidential resource")
    .requiredOption("--path <path>", "KBS Resource path")
    .action(async (o: { path: string }) => {
      const u = resourceUriFromPath(o.path);
      await admin("DELETE", `/kbs/v0/resource/${u.segments.join("/")}`, {});
      process.stdout.write("Delete resource success\n");
    });

  config
    .command("get-reference-value")
    .description("Get reference value from RVPS given reference value ID")
    .requiredOption("--id <id>", "The ID of the reference value")
    .action(async (o: { id: string }) => {
      if (!/^[A-Za-z0-9._-]{1,256}$/.test(o.id)) {
        throw new DropInError("ERR_DROPIN_USAGE", "--id must be 1..256 of [A-Za-z0-9._-]");
      }
      const body = await admin("GET", `/kbs/v0/reference-value/${o.id}`, {});
      // Upstream prints the body with Rust's Debug format: a quoted, escaped string.
      process.stdout.write(`${JSON.stringify(Buffer.from(body).toString("utf8"))}\n`);
    });

  config
    .command("set-sample-reference-value")
    .description("Add a sample reference value to the RVPS (proxied through the KBS)")
    .argument("<name>", "The name of the reference value")
    .argument("<value>", "The reference value itself")
    .option("--as-integer", "parse the value as an integer")
    .option("--as-bool", "parse the value as a bool")
    .option("--as-single-value", "a single value instead of a one-member list")
    .action(
      async (
        name: string,
        value: string,
        o: { asInteger?: boolean; asBool?: boolean; asSingleValue?: boolean },
      ) => {
        if (o.asInteger && o.asBool) {
          throw new DropInError(
            "ERR_DROPIN_USAGE",
            "--as-integer and --as-bool cannot be used together",
          );
        }
        let v: unknown = value;
        if (o.asInteger) {
          const n = Number(value);
          if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(n) || Math.abs(n) > 2 ** 31) {
            throw new DropInError("ERR_DROPIN_USAGE", `${JSON.stringify(value)} is not an i32`);
          }
          v = n;
        } else if (o.asBool) {
          if (value !== "true" && value !== "false") {
            throw new DropInError("ERR_DROPIN_USAGE", `${JSON.stringify(value)} is not a bool`);
          }
          v = value === "true";
        }
        const provenance = Buffer.from(
          JSON.stringify({ [name]: o.asSingleValue ? v : [v] }),
        ).toString("base64");
        await admin("POST", "/kbs/v0/reference-value", {
          json: { version: "0.1.0", type: "sample", payload: provenance },
        });
        process.stdout.write("Reference Values Updated\n");
      },
    );

  // Ours: reference values from a measured guest, with provenance and expiry; events.
  const stream: AdminStream = async (path, onChunk) => {
    const token = resolveAdminToken(config.opts<{ adminTokenFile?: string }>().adminTokenFile, env);
    await streamGet(g().url, path, certs(), token, onChunk);
  };
  addKbsAdminCommands(config, (method, path, body) => admin(method, path, body), stream);
  return program;
}

/** GET `path` with the admin token and hand each chunk of a 200 answer to `onChunk`. */
function streamGet(
  base: string,
  path: string,
  ca: string[],
  token: string | undefined,
  onChunk: (c: Uint8Array) => void,
): Promise<void> {
  const url = new URL(path, base.endsWith("/") ? base : `${base}/`);
  const headers: Record<string, string> =
    token !== undefined ? { authorization: `Bearer ${token}` } : {};
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { headers, ...(url.protocol === "https:" && ca.length > 0 ? { ca } : {}) },
      (res) => {
        if (res.statusCode !== 200) {
          let text = "";
          res.on("data", (c: Buffer) => {
            text = (text + c.toString("utf8")).slice(0, 4096);
          });
          res.on("end", () =>
            reject(
              new DropInError(
                "ERR_DROPIN_USAGE",
                `admin GET ${url.pathname}: HTTP ${res.statusCode}: ${text}`,
              ),
            ),
          );
          return;
        }
        res.on("data", (c: Buffer) => onChunk(c));
        res.on("end", () => resolve());
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

if (isMain(import.meta.url)) {
  await runDropIn("kbs-client", kbsClientProgram());
}
