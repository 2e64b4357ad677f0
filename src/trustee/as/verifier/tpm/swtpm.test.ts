/**
 * The TPM verifier against evidence a real software TPM (swtpm, driven by tpm2-tools) produced:
 * an AK made in the TPM, PCR 9 and 14 extended with the digests of an event log built here, and
 * a quote over all 24 SHA-256 PCRs with a nonce. The log replays to the quoted PCRs; a changed
 * event, nonce or PCR value fails with its code.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { evidenceCodeOf as codeOf } from "../../../../../test/helpers/evidence-code.js";
import type { RunningProcess } from "../../../../../test/helpers/process.js";
import { startSwtpm, swtpmSkip } from "../../../../../test/helpers/swtpm.js";
import { parseTpmEvidence } from "../../../../tee/tpm/index.js";
import { verifyTpmEvidence } from "./verify.js";

const skip = swtpmSkip() || (hasTools() ? false : "tpm2-tools are not installed");
const dir = mkdtempSync(join(tmpdir(), "coco-tpm-verify-"));
let swtpm: RunningProcess | undefined;
let evidence: Record<string, unknown> = {};
let log: Uint8Array = new Uint8Array();
const nonce = createHash("sha256").update("tpm-verifier-nonce").digest();

function hasTools(): boolean {
  try {
    execFileSync("tpm2_quote", ["--version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** A TCG PC Client crypto-agile log (PFP §10): Spec ID header, then SHA-256 EV_IPL events. */
function buildLog(events: { pcr: number; data: string }[]): Uint8Array {
  const spec = Buffer.concat([
    Buffer.from("Spec ID Event03\0", "latin1"),
    u32(0), // platformClass
    Buffer.from([0, 2, 0, 2]), // specVersionMinor, Major, errata, uintnSize
    u32(1),
    u16(0x000b),
    u16(32),
    Buffer.from([0]), // vendorInfoSize
  ]);
  const parts = [u32(0), u32(3), Buffer.alloc(20), u32(spec.length), spec];
  for (const e of events) {
    const data = Buffer.from(e.data);
    parts.push(
      u32(e.pcr),
      u32(0x0d),
      u32(1),
      u16(0x000b),
      createHash("sha256").update(data).digest(),
      u32(data.length),
      data,
    );
  }
  return new Uint8Array(Buffer.concat(parts));
}

const EVENTS = [
  { pcr: 9, data: "kernel /vmlinuz" },
  { pcr: 9, data: "initrd /initrd.img" },
  { pcr: 14, data: "shim MokList" },
];

before(async () => {
  if (skip) return;
  mkdirSync(join(dir, "state"));
  const started = await startSwtpm(join(dir, "state"));
  swtpm = started.process;
  const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${started.port}` };
  const t = (tool: string, ...args: string[]) =>
    execFileSync(tool, args, { env, cwd: dir, stdio: "pipe" });
  // The AK: a restricted RSASSA-SHA256 signing key, made as a primary under the endorsement
  // hierarchy (no parent to load; swtpm has few object slots without a resource manager).
  t(
    "tpm2_createprimary",
    "-C",
    "e",
    "-g",
    "sha256",
    "-G",
    "rsa2048:rsassa-sha256:null",
    "-a",
    "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
    "-c",
    "ak.ctx",
  );
  t("tpm2_readpublic", "-c", "ak.ctx", "-f", "der", "-o", "ak.der");
  for (const e of EVENTS) {
    t("tpm2_pcrextend", `${e.pcr}:sha256=${createHash("sha256").update(e.data).digest("hex")}`);
  }
  const all = Array.from({ length: 24 }, (_, i) => i).join(",");
  t(
    "tpm2_quote",
    "-c",
    "ak.ctx",
    "-l",
    `sha256:${all}`,
    "-q",
    nonce.toString("hex"),
    "-m",
    "msg.bin",
    "-s",
    "sig.bin",
    "-g",
    "sha256",
  );
  t("tpm2_pcrread", `sha256:${all}`, "-o", "pcrs.bin");
  const pcrs = readFileSync(join(dir, "pcrs.bin"));
  log = buildLog(EVENTS);
  evidence = {
    ak_public: readFileSync(join(dir, "ak.der")).toString("base64"),
    tpm_quote: {
      message: readFileSync(join(dir, "msg.bin")).toString("base64"),
      signature: readFileSync(join(dir, "sig.bin")).toString("base64"),
      pcrs: Array.from({ length: 24 }, (_, i) =>
        pcrs.subarray(i * 32, i * 32 + 32).toString("hex"),
      ),
    },
    eventlog: Buffer.from(log).toString("base64"),
  };
});

after(async () => {
  await swtpm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("TPM evidence from swtpm (a real software TPM)", { skip }, () => {
  test("the quote verifies with its nonce and the event log replays to PCR 9 and 14", () => {
    const claims = verifyTpmEvidence(parseTpmEvidence(evidence), { expectedReportData: nonce });
    assert.equal(claims.report_data, nonce.toString("hex"));
    assert.equal((claims.uefi_event_logs as unknown[]).length, 3);
    assert.notEqual(claims.pcr09, "00".repeat(32));
  });

  test("a changed event, a wrong nonce or a changed PCR value fail with their codes", () => {
    const changed = buildLog([...EVENTS.slice(0, 2), { pcr: 14, data: "shim MokList!" }]);
    const ev = { ...evidence, eventlog: Buffer.from(changed).toString("base64") };
    assert.equal(
      codeOf(() => verifyTpmEvidence(parseTpmEvidence(ev))),
      "ERR_EVENTLOG_REPLAY",
    );
    // Hiding one of PCR 9's events breaks its replay. (A log that leaves out every event of a
    // register is not caught: only registers the log extends are replayed; see docs.)
    const dropped = buildLog([EVENTS[0] as (typeof EVENTS)[0], EVENTS[2] as (typeof EVENTS)[0]]);
    assert.equal(
      codeOf(() =>
        verifyTpmEvidence(
          parseTpmEvidence({ ...evidence, eventlog: Buffer.from(dropped).toString("base64") }),
        ),
      ),
      "ERR_EVENTLOG_REPLAY",
    );
    const other = Buffer.from(nonce);
    other[0] = (other[0] as number) ^ 1;
    assert.equal(
      codeOf(() => verifyTpmEvidence(parseTpmEvidence(evidence), { expectedReportData: other })),
      "ERR_TPM_NONCE",
    );
    const q = evidence.tpm_quote as { pcrs: string[] };
    const pcrs = [...q.pcrs];
    pcrs[9] = `${(pcrs[9] as string).slice(0, -2)}00`;
    assert.equal(
      codeOf(() => verifyTpmEvidence(parseTpmEvidence({ ...evidence, tpm_quote: { ...q, pcrs } }))),
      "ERR_TPM_PCR_DIGEST",
    );
  });
});
