/**
 * in-toto/SLSA provenance as reference values, with envelopes made by a real peer: cosign
 * `attest-blob` signs an SLSA v1 provenance statement about a file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { toolPath } from "../../../test/helpers/paths.js";
import { createMemoryStore } from "../storage/memory.js";
import { createRvps } from "./rvps.js";

const cosign = toolPath("cosign");
const skip = existsSync(cosign) ? false : `${cosign} missing: run scripts/setup`;
const dir = mkdtempSync(join(tmpdir(), "coco-rvps-intoto-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function attest(): { envelope: string; pub: string; digest: string } {
  const env = { ...process.env, COSIGN_PASSWORD: "" };
  const run = (args: string[]): string => {
    const r = spawnSync(cosign, args, { cwd: dir, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cosign ${args[0]}: ${r.stderr}`);
    return r.stdout;
  };
  if (!existsSync(join(dir, "cosign.key"))) run(["generate-key-pair"]);
  writeFileSync(join(dir, "vmlinuz"), "kernel image bytes\n");
  writeFileSync(
    join(dir, "pred.json"),
    JSON.stringify({
      buildDefinition: { buildType: "https://example.com/build" },
      runDetails: { builder: { id: "https://example.com/b" } },
    }),
  );
  // cosign prints the signed DSSE envelope on stdout (the file gets the bare statement).
  const out = run([
    "attest-blob",
    "--key",
    "cosign.key",
    "--predicate",
    "pred.json",
    "--type",
    "slsaprovenance1",
    "--tlog-upload=false",
    "--output-attestation",
    "att.json",
    "vmlinuz",
  ]);
  return {
    envelope: out.split("\n").find((l) => l.startsWith('{"payloadType"')) ?? "",
    pub: readFileSync(join(dir, "cosign.pub"), "utf8"),
    digest: createHash("sha256").update("kernel image bytes\n").digest("hex"),
  };
}

const message = (envelope: string) => ({
  version: "0.1.0",
  type: "slsa",
  payload: Buffer.from(envelope).toString("base64"),
});

test("registers the subjects of a cosign-signed SLSA provenance as reference values", {
  skip,
}, async () => {
  const a = attest();
  const rvps = createRvps(createMemoryStore(), { provenanceKeys: [createPublicKey(a.pub)] });
  assert.deepEqual(await rvps.register(message(a.envelope)), ["vmlinuz"]);
  assert.deepEqual(await rvps.query("vmlinuz"), [a.digest]);
  assert.deepEqual(await rvps.register({ ...message(a.envelope), type: "in-toto" }), ["vmlinuz"]);
});

test("refuses provenance signed by another key, tampered, or with no trusted keys", {
  skip,
}, async () => {
  const a = attest();
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  await assert.rejects(
    createRvps(createMemoryStore(), { provenanceKeys: [other] }).register(message(a.envelope)),
    { code: "ERR_RVPS_SIGNATURE" },
  );
  const env = JSON.parse(a.envelope) as { payload: string };
  const st = JSON.parse(Buffer.from(env.payload, "base64").toString());
  st.subject[0].digest.sha256 = "00".repeat(32);
  const tampered = JSON.stringify({
    ...env,
    payload: Buffer.from(JSON.stringify(st)).toString("base64"),
  });
  const rvps = createRvps(createMemoryStore(), { provenanceKeys: [createPublicKey(a.pub)] });
  await assert.rejects(rvps.register(message(tampered)), { code: "ERR_RVPS_SIGNATURE" });
  await assert.rejects(createRvps(createMemoryStore()).register(message(a.envelope)), {
    code: "ERR_RVPS_EXTRACTOR",
  });
  for (const garbage of [
    "",
    "{}",
    "[1]",
    JSON.stringify({ payloadType: "x", payload: "!!", signatures: [] }),
  ]) {
    await assert.rejects(rvps.register(message(garbage)), (e: Error & { code?: string }) =>
      ["ERR_RVPS_MESSAGE", "ERR_RVPS_SIGNATURE"].includes(e.code ?? ""),
    );
  }
});
