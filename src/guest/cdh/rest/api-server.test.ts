import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RunningProcess } from "../../../../test/helpers/process.js";
import { startSwtpm, swtpmSkip } from "../../../../test/helpers/swtpm.js";
import { createTpmAttester } from "../../aa/attester/tpm/tpm.js";
import { connectSwtpm, type TpmTransport } from "../../aa/attester/tpm/transport.js";
import { parseAaConfig } from "../../aa/config.js";
import { type RunningAa, startAttestationAgent } from "../../aa/daemon.js";
import { aaelRecord } from "../../aa/eventlog/record.js";
import { type ApiServer, isLoopback, startApiServer } from "./api-server.js";

const dir = mkdtempSync(join(tmpdir(), "rest-aael-"));
let swtpm: RunningProcess | undefined;
let transport: TpmTransport | undefined;
let aa: RunningAa | undefined;
let api: ApiServer | undefined;

before(async () => {
  if (swtpmSkip()) return;
  const tpm = await startSwtpm(dir);
  swtpm = tpm.process;
  const port = tpm.port;
  transport = await connectSwtpm("127.0.0.1", port);
  aa = await startAttestationAgent({
    socket: `unix://${join(dir, "aa.sock")}`,
    config: parseAaConfig("[eventlog_config]\nenable_eventlog = true\ninit_pcr = 23\n"),
    attester: createTpmAttester({ transport }),
    eventLogDir: join(dir, "aael"),
  });
  api = await startApiServer({
    bind: "127.0.0.1:0",
    features: "attestation",
    aaAddr: aa.socket,
    cdhAddr: `unix://${join(dir, "no-cdh.sock")}`,
  });
});

after(async () => {
  await api?.close();
  await aa?.close();
  await transport?.close();
  await swtpm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("REST API → AA (TPM attester on swtpm, event log enabled)", { skip: swtpmSkip() }, () => {
  test("POST /aa/aael records the event and extends the PCR", async () => {
    const url = api?.url as string;
    const res = await fetch(`${url}/aa/aael`, {
      method: "POST",
      body: JSON.stringify({
        domain: "github.com/confidential-containers",
        operation: "PullImage",
        content: '{"image":"x", "digest":"y"}',
      }),
    });
    assert.deepEqual(await res.json(), { success: "true" });
    const log = readFileSync(join(dir, "aael", "eventlog"));
    const rec = aaelRecord(
      'github.com/confidential-containers PullImage {"image":"x", "digest":"y"}',
      23,
      "sha256",
    );
    assert.deepEqual(log, Buffer.from(rec.record));
    const bad = await fetch(`${url}/aa/aael`, {
      method: "POST",
      body: JSON.stringify({ domain: "d", operation: "o", content: "a\nb" }),
    });
    assert.equal(bad.status, 500);
    assert.match(await bad.text(), /ERR_AA_EVENTLOG/);
  });

  test("GET /aa/evidence returns a TPM quote over the base64url runtime data", async () => {
    const nonce = createHash("sha256").update("n").digest();
    const res = await fetch(
      `${api?.url}/aa/evidence?runtime_data=${nonce.toString("base64url")}&encoding=base64`,
    );
    assert.equal(res.status, 200);
    const ev = (await res.json()) as { tpm_quote: { pcrs: string[] } };
    assert.equal(ev.tpm_quote.pcrs.length, 24);
    assert.equal(
      (await fetch(`${api?.url}/cdh/resource/a/b/c`)).status,
      404,
      "resource feature is off",
    );
    assert.equal(
      (await fetch(`${api?.url}/aa/evidence?runtime_data=*&encoding=base64`)).status,
      400,
    );
    const info = (await (await fetch(`${api?.url}/info`)).json()) as {
      tee: string;
      feature: string;
    };
    assert.deepEqual([info.tee, info.feature], ["tpm", "attestation"]);
    assert.equal((await fetch(`${api?.url}/info`, { method: "POST" })).status, 405);
  });
});

describe("loopback check", () => {
  test("accepts 127.0.0.0/8, ::1 and mapped loopback only", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
      assert.equal(isLoopback(a), true, a);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "", undefined, "fe80::1"])
      assert.equal(isLoopback(a), false, String(a));
  });
});
