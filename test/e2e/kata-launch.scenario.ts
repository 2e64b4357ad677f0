/**
 * The guest side of a CoCo pod as the Kata agent starts it, run inside a private mount and
 * network namespace (started by upstream-binaries.test.ts through `unshare`): our binaries
 * under upstream's names at upstream's fixed paths (/usr/local/bin, /run/confidential-containers),
 * launched with the agent's exact command lines, against our Trustee started as `kbs
 * --config-file` with upstream's kbs-config.toml layout on its default socket, administered
 * with `kbs-client`. Prints one `RESULT <json>` line; every process it starts is stopped.
 *
 * Not a test file: it needs root and the namespaces the test sets up.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sealSecret } from "../../src/protocol/sealed-secret/index.js";
import { CDH_SERVICES, CdhMessages, TtrpcClient } from "../../src/protocol/ttrpc/index.js";
import { repoRoot } from "../helpers/paths.js";
import { type RunningProcess, startProcess } from "../helpers/process.js";
import { INITDATA_PATH, kataLaunchPlan } from "./kata-launch.js";

const work: string = (() => {
  const w = process.argv[2];
  if (!w) throw new Error("usage: kata-launch.scenario.js <work dir>");
  return w;
})();
const bin = join(repoRoot, "dist", "src", "cli", "bin");
const procs: RunningProcess[] = [];
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: "pipe" });
// The Kata agent's PATH, with the folder holding node first (a guest image has it in /usr/bin).
const guestPath = `${dirname(process.execPath)}:/bin:/sbin/:/usr/bin/:/usr/sbin/`;
const env = { PATH: `/usr/local/bin:${guestPath}`, HOME: work };
const result: Record<string, unknown> = {};

async function main(): Promise<void> {
  // Private copies of upstream's fixed locations (this namespace only).
  for (const m of ["/run", "/opt", "/usr/local/bin"]) sh("mount", ["-t", "tmpfs", "tmpfs", m]);
  sh("ip", ["link", "set", "lo", "up"]);
  mkdirSync("/run/confidential-containers", { recursive: true });
  mkdirSync("/opt/confidential-containers/storage", { recursive: true });
  const names: [string, string][] = [
    ["attestation-agent", "attestation-agent.js"],
    ["confidential-data-hub", "confidential-data-hub.js"],
    ["api-server-rest", "api-server-rest.js"],
    ["kbs", "kbs.js"],
    ["kbs-client", "kbs-client.js"],
  ];
  for (const [name, file] of names) {
    // npm marks `bin` targets executable when it installs or links the package; do the same.
    chmodSync(join(bin, file), 0o755);
    symlinkSync(join(bin, file), `/usr/local/bin/${name}`);
  }

  // Trustee as upstream's quickstart runs it: `kbs --config-file kbs-config.toml`, whose
  // layout (written here, keys as upstream's kbs/config/kbs-config.toml) serves HTTP on the
  // default 127.0.0.1:8080, admin InsecureAllowAll, local-fs store in /opt/confidential-containers.
  const kbsConfig = join(work, "kbs-config.toml");
  writeFileSync(
    kbsConfig,
    `[http_server]
insecure_http = true

[attestation_token]
insecure_header_jwk = true

[attestation_service]
type = "coco_as_builtin"

[attestation_service.attestation_token_broker]
duration_min = 5

[attestation_service.rvps_config]
type = "BuiltIn"

[admin]
authorization_mode = "InsecureAllowAll"

[storage_backend]
storage_type = "LocalFs"

[storage_backend.backends.local_fs]
dir_path = "/opt/confidential-containers/storage"

[[plugins]]
name = "resource"
storage_backend_type = "kvstorage"
`,
  );
  procs.push(
    await startProcess({
      name: "kbs",
      command: "/usr/local/bin/kbs",
      args: ["--config-file", kbsConfig],
      env,
      ready: { kind: "tcp", port: 8080 },
      timeoutMs: 60_000,
    }),
  );
  const kbsClient = (args: string[]) =>
    execFileSync("/usr/local/bin/kbs-client", args, { env, stdio: "pipe" }).toString("utf8");

  const resource = randomBytes(48);
  const secret = `secret ${randomBytes(8).toString("hex")}`;
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "jwk",
  });
  const put = (path: string, data: string | Uint8Array) => {
    const f = join(work, `res-${path.replaceAll("/", "_")}`);
    writeFileSync(f, data, { mode: 0o600 });
    return kbsClient(["config", "set-resource", "--path", path, "--resource-file", f]);
  };
  result.setPolicy = kbsClient(["config", "set-resource-policy", "--allow-all"]).split("\n")[0];
  result.setResource = put("default/key/1", resource).split("\n")[0];
  put(
    "default/sealing-key/1",
    JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y }),
  );
  put("default/secret/1", secret);
  // kbs-client's own attestation (sample TEE) and fetch, default --url.
  result.kbsClientResource = Buffer.from(
    kbsClient(["get-resource", "--path", "default/key/1"]).trim(),
    "base64",
  ).equals(resource);

  // What the agent writes from init-data before it launches anything.
  mkdirSync(INITDATA_PATH, { recursive: true });
  const aaToml = `[token_configs.kbs]\nurl = "http://127.0.0.1:8080"\n`;
  const cdhToml = `[kbc]\nname = "cc_kbc"\nurl = "http://127.0.0.1:8080"\n`;
  const initdata = `version = "0.1.0"\nalgorithm = "sha384"\n\n[data]\n"aa.toml" = '''\n${aaToml}'''\n"cdh.toml" = '''\n${cdhToml}'''\n`;
  writeFileSync(`${INITDATA_PATH}/initdata.toml`, initdata);
  writeFileSync(`${INITDATA_PATH}/aa.toml`, aaToml);
  writeFileSync(`${INITDATA_PATH}/cdh.toml`, cdhToml);

  const plan = kataLaunchPlan({ initdataToml: true, aaToml: true, cdhToml: true }, 3, "all");
  result.commandLines = plan.map((s) => [s.path, ...s.args].join(" "));
  const started: Record<string, number> = {};
  for (const spec of plan) {
    if (spec.waitSocket) rmSync(spec.waitSocket, { force: true });
    const t0 = Date.now();
    procs.push(
      await startProcess({
        name: spec.id,
        command: spec.path,
        args: spec.args,
        env: { ...env, PATH: guestPath, ...spec.env },
        ready: spec.waitSocket
          ? { kind: "file", path: spec.waitSocket }
          : { kind: "tcp", port: 8006 },
        timeoutMs: 60_000,
      }),
    );
    started[spec.id] = Date.now() - t0;
  }
  result.msToReady = started;

  // The workload's view: the REST API on 127.0.0.1:8006.
  const rest = await fetch("http://127.0.0.1:8006/cdh/resource/default/key/1");
  result.restStatus = rest.status;
  result.restResource = Buffer.from(await rest.arrayBuffer()).equals(resource);
  const token = await fetch("http://127.0.0.1:8006/aa/token?token_type=kbs");
  result.aaTokenStatus = token.status;
  result.aaTokenHasKey = typeof ((await token.json()) as { tee_keypair?: unknown }).tee_keypair;

  // The agent's view: UnsealSecret on CDH's default socket.
  const sealed = await sealSecret(
    {
      version: "0.1.0",
      type: "vault",
      name: "kbs:///default/secret/1",
      provider: "kbs",
      provider_settings: {},
      annotations: {},
    },
    signing,
    "kbs:///default/sealing-key/1",
  );
  const c = new TtrpcClient("unix:///run/confidential-containers/cdh.sock", { timeoutMs: 60_000 });
  try {
    const out = await c.call(
      CDH_SERVICES.sealedSecret,
      "UnsealSecret",
      CdhMessages.UnsealSecretInput,
      CdhMessages.UnsealSecretOutput,
      { secret: Buffer.from(sealed) },
    );
    result.unsealed = Buffer.from(out.plaintext).toString("utf8") === secret;
  } finally {
    c.close();
  }
}

try {
  await main();
  result.ok = true;
} catch (err) {
  result.ok = false;
  result.error = err instanceof Error ? err.message : String(err);
} finally {
  for (const p of procs.reverse()) await p.stop();
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
