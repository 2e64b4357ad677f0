/**
 * AA configuration in upstream's layout (attestation-agent config.rs), TOML or JSON by file
 * extension; every section optional, an empty file valid.
 */
import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import type { TeeKeyKind } from "../../crypto/jwe.js";
import { AaError } from "./errors.js";

/** Parsed AA configuration. */
export interface AaConfig {
  kbs?: { url: string; cert?: string; teeKeyAlgorithm: TeeKeyKind };
  cocoAs?: { url: string };
  eventlog: { initPcr: number; enabled: boolean };
  logLevel: string;
}

const KEY_ALGORITHMS: Record<string, TeeKeyKind> = {
  "ECDH-ES+A256KW-P256": "ec-p256",
  "ECDH-ES+A256KW-P521": "ec-p521",
  "RSA-OAEP-256": "rsa",
};

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new AaError("ERR_AA_CONFIG", `${where} must be a table`);
  }
  return v as Record<string, unknown>;
}

function str(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new AaError("ERR_AA_CONFIG", `${where} must be a string`);
  return v;
}

/** Parses config text; `format` decides TOML or JSON. */
export function parseAaConfig(text: string, format: "toml" | "json" = "toml"): AaConfig {
  let doc: Record<string, unknown>;
  try {
    doc = text.trim() === "" ? {} : format === "json" ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    throw new AaError(
      "ERR_AA_CONFIG",
      `AA config is not valid ${format}: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const tokens = obj(doc.token_configs, "token_configs");
  const out: AaConfig = { eventlog: { initPcr: 17, enabled: false }, logLevel: "info" };
  if (tokens.kbs !== undefined) {
    const k = obj(tokens.kbs, "token_configs.kbs");
    const url = str(k.url, "token_configs.kbs.url");
    if (!url) throw new AaError("ERR_AA_CONFIG", "token_configs.kbs.url is required");
    const algName =
      str(k.tee_key_algorithm, "token_configs.kbs.tee_key_algorithm") ?? "ECDH-ES+A256KW-P256";
    const alg = KEY_ALGORITHMS[algName];
    if (!alg) {
      throw new AaError(
        "ERR_AA_CONFIG",
        `token_configs.kbs.tee_key_algorithm must be one of ${Object.keys(KEY_ALGORITHMS).join(", ")}`,
      );
    }
    const cert = str(k.cert, "token_configs.kbs.cert");
    out.kbs = { url: url.replace(/\/+$/, ""), teeKeyAlgorithm: alg, ...(cert ? { cert } : {}) };
  }
  if (tokens.coco_as !== undefined) {
    const url = str(obj(tokens.coco_as, "token_configs.coco_as").url, "token_configs.coco_as.url");
    if (!url) throw new AaError("ERR_AA_CONFIG", "token_configs.coco_as.url is required");
    out.cocoAs = { url: url.replace(/\/+$/, "") };
  }
  const ev = obj(doc.eventlog_config, "eventlog_config");
  if (ev.init_pcr !== undefined) {
    if (
      typeof ev.init_pcr !== "number" ||
      !Number.isInteger(ev.init_pcr) ||
      ev.init_pcr < 0 ||
      ev.init_pcr > 23
    ) {
      throw new AaError("ERR_AA_CONFIG", "eventlog_config.init_pcr must be an integer 0..23");
    }
    out.eventlog.initPcr = ev.init_pcr;
  }
  if (ev.enable_eventlog !== undefined) {
    if (typeof ev.enable_eventlog !== "boolean") {
      throw new AaError("ERR_AA_CONFIG", "eventlog_config.enable_eventlog must be a boolean");
    }
    out.eventlog.enabled = ev.enable_eventlog;
  }
  out.logLevel = str(obj(doc.log, "log").level, "log.level") ?? "info";
  return out;
}

/** Reads a config file (format from its extension, TOML unless `.json`). */
export function loadAaConfig(path: string): AaConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AaError(
      "ERR_AA_CONFIG",
      `cannot read AA config ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  return parseAaConfig(text, path.endsWith(".json") ? "json" : "toml");
}

/**
 * Without a config file: `AA_KBC_PARAMS` (else kernel `agent.aa_kbc_params=`) `<kbc>::<url>`;
 * only `cc_kbc` yields a KBS config (upstream `config.rs`).
 */
export function configFromKbcParams(params: string | undefined): AaConfig {
  const out: AaConfig = { eventlog: { initPcr: 17, enabled: false }, logLevel: "info" };
  if (!params) return out;
  const parts = params.split("::");
  if (parts.length !== 2) throw new AaError("ERR_AA_CONFIG", "aa_kbc_params must be <kbc>::<url>");
  if (parts[0] === "cc_kbc")
    out.kbs = { url: (parts[1] ?? "").replace(/\/+$/, ""), teeKeyAlgorithm: "ec-p256" };
  return out;
}

/** Reads `agent.aa_kbc_params=` from a kernel command line text. */
export function kbcParamsFromCmdline(cmdline: string): string | undefined {
  for (const word of cmdline.split(/\s+/)) {
    if (word.startsWith("agent.aa_kbc_params=")) return word.slice("agent.aa_kbc_params=".length);
  }
  return undefined;
}
