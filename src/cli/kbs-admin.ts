/**
 * Our additions to `kbs-client config` (both `coco kbs-client` and the `kbs-client` drop-in):
 * the reference-value workflow and the event stream.
 * - `register-reference-values`: measures a guest (the qemu sandbox's image, an SNP report or
 *   launch digest, a TDX quote or MRTD/RTMRs) and registers the values under the names the
 *   default attestation policy reads, as one `coco-measurements` RVPS message with an expiry
 *   and a provenance record (what was measured, its digest, by which tool, when);
 * - `list-reference-values`, `delete-reference-value`;
 * - `get-events [--follow]`: the attestation events as JSON lines.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { CocoError } from "../errors.js";
import type { ReferenceValueInfo } from "../trustee/rvps/rvps.js";
import { packageVersion } from "../version.js";

/** Codes of the reference-value commands' own failures. */
export type KbsAdminErrorCode = "ERR_RV_SOURCE" | "ERR_RV_USAGE";

/** A measurement source that cannot be read, or a bad combination of options. */
export class KbsAdminError extends CocoError<KbsAdminErrorCode> {}

/** One admin call: method, KBS path, body; resolves with the body of a 200 answer. */
export type AdminCall = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  body: { json?: unknown },
) => Promise<Uint8Array>;

/** An admin call whose answer is streamed to `onChunk` until the server ends it. */
export type AdminStream = (path: string, onChunk: (chunk: Uint8Array) => void) => Promise<void>;

/** Options of `register-reference-values`. */
export interface RegisterOptions {
  qemuImage?: string;
  cmdline?: string;
  snpReport?: string;
  snpLaunchDigest?: string;
  tdxQuote?: string;
  mrTd?: string;
  rtmr?: string[];
  expires?: string;
  note?: string;
  append?: boolean;
  dryRun?: boolean;
}

/** What a registration sends: the RVPS message and, for the user, the values in it. */
export interface Registration {
  message: { version: "0.1.0"; type: string; payload: string };
  values: Record<string, unknown>;
  expiration?: string;
  provenance: Record<string, string>;
}

function fail(msg: string, cause?: unknown): never {
  throw new KbsAdminError("ERR_RV_SOURCE", msg, { cause });
}

async function sha(alg: "sha256" | "sha384", path: string): Promise<string> {
  const h = createHash(alg);
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    fail(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  return h.digest("hex");
}

function readSmall(path: string, max: number): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    return fail(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  if (size > max) fail(`${path} is ${size} bytes, more than ${max}`);
  return readFileSync(path);
}

/** The RVPS message type of a measured guest (`trustee/rvps/rvps.ts` MEASUREMENTS_TYPE). */
const MEASUREMENTS_TYPE = "coco-measurements";

// Parsers and verifier claims load only when a registration needs them (CLI start-up).
const measured = () => import("../trustee/rvps/measured.js");

/** An SNP report as the binary ATTESTATION_REPORT or as upstream's evidence JSON. */
async function readSnpReport(path: string) {
  const { parseSnpReport } = await import("../tee/snp/report.js");
  const { parseSnpEvidence } = await import("../tee/snp/evidence.js");
  const bytes = readSmall(path, 1024 * 1024);
  try {
    if (bytes[0] === 0x7b) {
      const json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
      return parseSnpEvidence(json.primary_evidence ?? json).report;
    }
    return parseSnpReport(new Uint8Array(bytes));
  } catch (e) {
    return fail(`${path} is neither an SNP report nor SNP evidence: ${(e as Error).message}`, e);
  }
}

/** A TDX quote as raw bytes or as evidence JSON `{"quote": "<base64>"}`. */
async function readTdxQuote(path: string) {
  const { parseDcapQuote } = await import("../tee/tdx/quote.js");
  const bytes = readSmall(path, 1024 * 1024);
  try {
    if (bytes[0] === 0x7b) {
      const json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
      const ev = (json.primary_evidence ?? json) as { quote?: unknown };
      if (typeof ev.quote !== "string") throw new Error("no quote member");
      return parseDcapQuote(new Uint8Array(Buffer.from(ev.quote, "base64")));
    }
    return parseDcapQuote(new Uint8Array(bytes));
  } catch (e) {
    return fail(`${path} is neither a TDX quote nor TDX evidence: ${(e as Error).message}`, e);
  }
}

/** `2027-01-01T00:00:00Z`, or a duration from now: `90d`, `12h`, `30m`. */
export function parseExpiry(s: string, now = Date.now()): string {
  const m = /^(\d{1,5})([dhm])$/.exec(s);
  let t: number;
  if (m !== null) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as "d" | "h" | "m"];
    t = now + Number(m[1]) * unit;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s)) {
    t = Date.parse(s);
  } else {
    throw new KbsAdminError(
      "ERR_RV_USAGE",
      `--expires ${JSON.stringify(s)}: give an RFC 3339 UTC time (2027-01-01T00:00:00Z) or a duration (90d, 12h, 30m)`,
    );
  }
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>, source: string) {
  for (const [k, v] of Object.entries(from)) {
    if (k in into) {
      throw new KbsAdminError("ERR_RV_USAGE", `${k} is given twice (again by ${source})`);
    }
    into[k] = v;
  }
}

/**
 * Measures the sources `o` names and builds the registration (no network). Each source adds
 * its values and a provenance line: `source`, `subject` (the file or folder), `subject_sha256`
 * (of the file measured) and `tool`, `created`, `note`.
 */
export async function buildRegistration(
  o: RegisterOptions,
  now = Date.now(),
): Promise<Registration> {
  const {
    cmdlineDigest,
    imageReferenceValues,
    snpLaunchDigestReferenceValues,
    snpReferenceValues,
    tdxDigestReferenceValues,
    tdxReferenceValues,
  } = await measured();
  const values: Record<string, unknown> = {};
  const sources: string[] = [];
  const subjects: string[] = [];
  const digests: string[] = [];
  if (o.qemuImage !== undefined) {
    const dir = resolve(o.qemuImage);
    // The kernel file the sandbox boots: the decompressed vmlinux when present (qemu-host.ts).
    const kernelFile = existsSync(`${dir}/vmlinux`) ? "vmlinux" : "vmlinuz";
    const kernel = await sha("sha384", `${dir}/${kernelFile}`);
    const initrd = await sha("sha384", `${dir}/initrd.cpio`);
    const disk = await sha("sha384", `${dir}/guest.img`);
    merge(
      values,
      imageReferenceValues({
        kernel,
        initrd,
        disk,
        ...(o.cmdline !== undefined ? { cmdline: cmdlineDigest(o.cmdline) } : {}),
      }),
      "--qemu-image",
    );
    sources.push("qemu-image");
    subjects.push(dir);
    digests.push(
      `${kernelFile} sha384:${kernel}`,
      `initrd.cpio sha384:${initrd}`,
      `guest.img sha384:${disk}`,
    );
  } else if (o.cmdline !== undefined) {
    throw new KbsAdminError("ERR_RV_USAGE", "--cmdline measures the command line of --qemu-image");
  }
  if (o.snpReport !== undefined) {
    const report = await readSnpReport(o.snpReport);
    const { snpClaims } = await import("../trustee/as/verifier/snp/verify.js");
    merge(values, snpReferenceValues(snpClaims(report)), "--snp-report");
    sources.push("snp-report");
    subjects.push(resolve(o.snpReport));
    digests.push(`sha256:${await sha("sha256", o.snpReport)}`);
  }
  if (o.snpLaunchDigest !== undefined) {
    try {
      merge(values, snpLaunchDigestReferenceValues(o.snpLaunchDigest), "--snp-launch-digest");
    } catch (e) {
      if (e instanceof RangeError)
        throw new KbsAdminError("ERR_RV_USAGE", `--snp-launch-digest: ${e.message}`);
      throw e;
    }
    sources.push("snp-launch-digest");
  }
  if (o.tdxQuote !== undefined) {
    const q = await readTdxQuote(o.tdxQuote);
    try {
      merge(values, tdxReferenceValues(q), "--tdx-quote");
    } catch (e) {
      if (e instanceof RangeError) fail(`${o.tdxQuote}: ${e.message}`);
      throw e;
    }
    sources.push("tdx-quote");
    subjects.push(resolve(o.tdxQuote));
    digests.push(`sha256:${await sha("sha256", o.tdxQuote)}`);
  }
  const manual: Record<string, string> = {};
  if (o.mrTd !== undefined) manual.mr_td = o.mrTd;
  for (const r of o.rtmr ?? []) {
    const m = /^([0-3])=(.*)$/.exec(r);
    if (m === null)
      throw new KbsAdminError(
        "ERR_RV_USAGE",
        `--rtmr ${JSON.stringify(r)}: write N=<96 hex digits>, N from 0 to 3`,
      );
    manual[`rtmr_${m[1]}`] = m[2] as string;
  }
  if (Object.keys(manual).length > 0) {
    try {
      merge(values, tdxDigestReferenceValues(manual), "--mr-td/--rtmr");
    } catch (e) {
      if (e instanceof RangeError) throw new KbsAdminError("ERR_RV_USAGE", e.message);
      throw e;
    }
    sources.push("tdx-measurements");
  }
  if (sources.length === 0) {
    throw new KbsAdminError(
      "ERR_RV_USAGE",
      "name what to measure: --qemu-image DIR, --snp-report FILE, --snp-launch-digest HEX, --tdx-quote FILE, or --mr-td/--rtmr",
    );
  }
  const provenance: Record<string, string> = {
    source: sources.join(","),
    tool: `coco kbs-client ${packageVersion()}`,
    created: new Date(Math.floor(now / 1000) * 1000).toISOString().replace(".000Z", "Z"),
  };
  if (subjects.length > 0) provenance.subject = subjects.join(",").slice(0, 512);
  if (digests.length > 0) provenance.subject_digest = digests.join(",").slice(0, 512);
  if (o.note !== undefined) {
    if (o.note.length > 512)
      throw new KbsAdminError("ERR_RV_USAGE", "--note is longer than 512 characters");
    provenance.note = o.note;
  }
  const expiration = o.expires !== undefined ? parseExpiry(o.expires, now) : undefined;
  const doc = {
    reference_values: values,
    ...(expiration !== undefined ? { expiration } : {}),
    provenance,
  };
  return {
    message: {
      version: "0.1.0",
      type: MEASUREMENTS_TYPE,
      payload: Buffer.from(JSON.stringify(doc)).toString("base64"),
    },
    values,
    ...(expiration !== undefined ? { expiration } : {}),
    provenance,
  };
}

/** The KBS path that names reference value `name` (the path form when it is one, else `?id=`). */
export function referenceValuePath(name: string): string {
  return /^[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)*$/.test(name) && !/(^|\/)\.\.?(\/|$)/.test(name)
    ? `/kbs/v0/reference-value/${name}`
    : `/kbs/v0/reference-value?id=${encodeURIComponent(name)}`;
}

/** Lists with `--append`: the union of what is registered and what was measured. */
function appendTo(existing: unknown, measured: unknown): unknown {
  if (!Array.isArray(existing) || !Array.isArray(measured)) return measured;
  const out = [...existing];
  for (const v of measured)
    if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
  return out;
}

function table(rows: ReferenceValueInfo[], now: number): string {
  const lines = [["NAME", "EXPIRES", "STATE", "SOURCE", "VALUE"]];
  for (const r of rows) {
    const v = JSON.stringify(r.value);
    lines.push([
      r.name,
      r.expiration,
      r.expired
        ? "expired"
        : Date.parse(r.expiration) - now < 30 * 86_400_000
          ? "expiring"
          : "valid",
      r.provenance?.source ?? "-",
      v.length > 60 ? `${v.slice(0, 57)}...` : v,
    ]);
  }
  const widths = (lines[0] as string[]).map((_, i) =>
    Math.max(...lines.map((l) => (l[i] ?? "").length)),
  );
  return `${lines.map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n")}\n`;
}

/** Adds the reference-value and event commands to a `config` command. */
export function addKbsAdminCommands(
  config: Command,
  call: AdminCall,
  stream: AdminStream,
  out: (s: string) => void = (s) => process.stdout.write(s),
): void {
  config
    .command("register-reference-values")
    .description(
      "Measure a guest and register its reference values (names the default policy reads) with provenance and expiry",
    )
    .option(
      "--qemu-image <dir>",
      "a qemu sandbox guest image: kernel (vmlinux, else vmlinuz), initrd.cpio and guest.img (the sandbox boots .tools/guest of the checkout, or $COCO_GUEST_DIR)",
    )
    .option("--cmdline <text>", "also measure this kernel command line (with --qemu-image)")
    .option("--snp-report <file>", "an SNP attestation report (binary) or SNP evidence (JSON)")
    .option("--snp-launch-digest <hex>", "an SNP launch digest (48 bytes, hex)")
    .option("--tdx-quote <file>", "a TDX quote (binary) or TDX evidence (JSON)")
    .option("--mr-td <hex>", "a TDX MRTD (48 bytes, hex)")
    .option("--rtmr <N=hex...>", "TDX RTMR N (0..3), 48 bytes, hex")
    .option(
      "--expires <when>",
      "RFC 3339 UTC time or a duration (90d, 12h); default: Trustee's (12 months)",
    )
    .option("--note <text>", "a note kept with the provenance")
    .option(
      "--append",
      "add to the values already registered under each name instead of replacing them",
    )
    .option("--dry-run", "print the message instead of sending it")
    .action(async (o: RegisterOptions) => {
      const reg = await buildRegistration(o);
      if (o.append) {
        for (const [name, v] of Object.entries(reg.values)) {
          let existing: unknown;
          try {
            existing = JSON.parse(
              Buffer.from(await call("GET", referenceValuePath(name), {})).toString("utf8"),
            );
          } catch {
            existing = undefined; // not registered yet (or expired): nothing to keep
          }
          reg.values[name] = appendTo(existing, v);
        }
        const doc = JSON.parse(
          Buffer.from(reg.message.payload, "base64").toString("utf8"),
        ) as Record<string, unknown>;
        doc.reference_values = reg.values;
        reg.message.payload = Buffer.from(JSON.stringify(doc)).toString("base64");
      }
      if (o.dryRun) {
        out(
          `${JSON.stringify({ message: reg.message, reference_values: reg.values, expiration: reg.expiration, provenance: reg.provenance }, null, 2)}\n`,
        );
        return;
      }
      await call("POST", "/kbs/v0/reference-value", { json: reg.message });
      out(`Reference Values Updated\n`);
      for (const [name, v] of Object.entries(reg.values)) out(` ${name}: ${JSON.stringify(v)}\n`);
    });

  config
    .command("list-reference-values")
    .description("List every reference value with its expiry and provenance")
    .option("--json", "print JSON instead of a table")
    .action(async (o: { json?: boolean }) => {
      const rows = JSON.parse(
        Buffer.from(await call("GET", "/kbs/v0/reference-value", {})).toString("utf8"),
      ) as ReferenceValueInfo[];
      out(o.json ? `${JSON.stringify(rows, null, 2)}\n` : table(rows, Date.now()));
    });

  config
    .command("delete-reference-value")
    .description("Delete a reference value")
    .requiredOption("--id <name>", "the reference value's name")
    .action(async (o: { id: string }) => {
      await call("DELETE", referenceValuePath(o.id), {});
      out("Delete reference value success\n");
    });

  config
    .command("get-events")
    .description("Print attestation events as JSON lines (newest last)")
    .option("--kind <kind>", "attestation, resource or admin")
    .option("--verdict <verdict>", "allow or deny")
    .option("--tee <tee>", "TEE name")
    .option("--resource <path>", "resource repository/type/tag")
    .option("--since <time>", "RFC 3339 time")
    .option("--limit <n>", "at most this many (default 100)")
    .option("--follow", "keep printing new events")
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const q = new URLSearchParams();
      for (const k of ["kind", "verdict", "tee", "resource", "since", "limit"]) {
        const v = o[k];
        if (typeof v === "string") q.set(k, v);
      }
      if (o.follow) {
        q.set("follow", "true");
        await stream(`/kbs/v0/events?${q}`, (c) => out(Buffer.from(c).toString("utf8")));
        return;
      }
      const qs = q.toString();
      out(
        Buffer.from(await call("GET", `/kbs/v0/events${qs ? `?${qs}` : ""}`, {})).toString("utf8"),
      );
    });
}
