/**
 * The `kbs-client` drop-in against our Trustee, with upstream's subcommands: admin calls
 * (policies, resources, sample reference values, delete), attestation with a caller-provided
 * TEE key and init-data, and the passport path (`--attestation-token` + `--tee-key-file`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const client = join(repoRoot, "dist", "src", "cli", "bin", "kbs-client.js");

function kbsClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [client, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("kbs-client drop-in against our kbs", () => {
  const dir = mkdtempSync(join(tmpdir(), "kbs-client-dropin-"));
  let t: TrusteeProcess | undefined;
  let admin: string[] = [];
  const resource = randomBytes(40);

  before(async () => {
    t = await startTrusteeProcess(dir);
    admin = ["--url", t.url, "config", "--admin-token-file", t.adminTokenFile];
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("admin subcommands print upstream's lines", async () => {
    const r1 = await kbsClient([...admin, "set-resource-policy", "--allow-all"]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /^Set resource policy success \n policy: [A-Za-z0-9+/=]+\n$/);
    writeFileSync(join(dir, "res"), resource);
    const r2 = await kbsClient([
      ...admin,
      "set-resource",
      "--path",
      "default/key/1",
      "--resource-file",
      join(dir, "res"),
    ]);
    assert.equal(r2.stdout, `Set resource success \n resource: ${resource.toString("base64")}\n`);
    const r3 = await kbsClient([
      ...admin,
      "set-sample-reference-value",
      "svn",
      "7",
      "--as-integer",
    ]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(r3.stdout, "Reference Values Updated\n");
    const r4 = await kbsClient([...admin, "get-reference-value", "--id", "svn"]);
    assert.equal(r4.code, 0, r4.stderr);
    assert.match(JSON.parse(r4.stdout), /7/);
    const both = await kbsClient([...admin, "set-resource-policy", "--allow-all", "--deny-all"]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /cannot be used together/);
  });

  test("attest with --tee-key-file and init-data, then get-resource with --attestation-token", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyFile = join(dir, "tee.pem");
    writeFileSync(keyFile, privateKey.export({ format: "pem", type: "pkcs1" }), { mode: 0o600 });
    const initData = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"x" = "y"\n';
    const att = await kbsClient([
      "--url",
      t?.url ?? "",
      "attest",
      "--tee-key-file",
      keyFile,
      initData,
    ]);
    assert.equal(att.code, 0, att.stderr);
    const token = att.stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    const ev = claims.submods.cpu0["ear.veraison.annotated-evidence"];
    assert.equal(ev.runtime_data_claims["tee-pubkey"].kty, "RSA");
    assert.deepEqual(ev.init_data_claims, { x: "y" });
    writeFileSync(join(dir, "token"), `${token}\n`);
    const got = await kbsClient([
      "--url",
      t?.url ?? "",
      "get-resource",
      "--path",
      "default/key/1",
      "--attestation-token",
      join(dir, "token"),
      "--tee-key-file",
      keyFile,
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(Buffer.from(got.stdout.trim(), "base64"), resource);
  });

  test("delete-resource removes it", async () => {
    const del = await kbsClient([...admin, "delete-resource", "--path", "default/key/1"]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, "Delete resource success\n");
    const gone = await kbsClient([
      "--url",
      t?.url ?? "",
      "get-resource",
      "--path",
      "default/key/1",
    ]);
    assert.notEqual(gone.code, 0);
  });
});
