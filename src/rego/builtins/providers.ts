/**
 * `providers.aws.sign_req`: AWS Signature Version 4 over a Rego request object, as OPA's
 * internal/providers/aws signer builds it (canonical request with the request's own method
 * text, Go's `URL.EscapedPath()` and raw query, lower-cased signed headers).
 */
import { createHash, createHmac } from "node:crypto";
import { compareStrings, ObjectValue, SetValue, type Value } from "../value/value.js";
import { argObject, operandError } from "./args.js";
import { operandMessage } from "./encoding.js";
import { goJson } from "./gojson.js";
import type { BuiltinTable } from "./types.js";

const NAME = "providers.aws.sign_req";

/** Request keys http.send accepts; sign_req validates against the same list upstream. */
const ALLOWED_REQUEST_KEYS = new Set([
  "method",
  "url",
  "body",
  "enable_redirect",
  "force_json_decode",
  "force_yaml_decode",
  "headers",
  "raw_body",
  "tls_use_system_certs",
  "tls_ca_cert",
  "tls_ca_cert_file",
  "tls_ca_cert_env_variable",
  "tls_client_cert",
  "tls_client_cert_file",
  "tls_client_cert_env_variable",
  "tls_client_key",
  "tls_client_key_file",
  "tls_client_key_env_variable",
  "tls_insecure_skip_verify",
  "tls_server_name",
  "timeout",
  "cache",
  "force_cache",
  "force_cache_duration_seconds",
  "raise_error",
  "caching_mode",
  "max_retry_attempts",
  "cache_ignored_headers",
]);
const REQUIRED_REQUEST_KEYS = ["method", "url"];
const REQUIRED_AWS_KEYS = ["aws_access_key", "aws_region", "aws_secret_access_key", "aws_service"];
/** Headers a proxy may rewrite, left out of the signature (aws-sdk-go's ignore list). */
const IGNORED_HEADERS = new Set(["authorization", "user-agent", "x-amzn-trace-id"]);

/** OPA's `%v` of a set of strings: `{"a", "b"}` in sorted order. */
const setText = (keys: Value[]) =>
  `{${SetValue.of(keys)
    .sorted()
    .map((k) => goJson(k))
    .join(", ")}}`;

const str = (v: Value | undefined) => (typeof v === "string" ? v : "");
const sha256Hex = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");
const hmac = (key: Uint8Array | string, msg: string) =>
  createHmac("sha256", key).update(msg).digest();

/** Host and Go's `EscapedPath()`/`RawQuery` of a URL string. */
function urlParts(u: string): { host: string; path: string; query: string } {
  const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?/.exec(u);
  const authority = m?.[1] ?? "";
  const host = authority.includes("@")
    ? authority.slice(authority.lastIndexOf("@") + 1)
    : authority;
  let path = m?.[2] ?? "";
  // EscapedPath keeps a valid escaped form as written and escapes what needs escaping.
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/.test(path)) {
    path = path
      .split("/")
      .map((seg) =>
        encodeURIComponent(decodeSafe(seg)).replace(
          /[!'()*]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        ),
      )
      .join("/");
  }
  return { host, path, query: m?.[3] ?? "" };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function utcStamp(ns: bigint): { date: string; iso: string } {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const iso = d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  return { date: iso.slice(0, 8), iso };
}

function validateAws(cfg: ObjectValue): void {
  const missing = REQUIRED_AWS_KEYS.filter((k) => !cfg.has(k));
  if (missing.length) {
    throw operandMessage(NAME, 2, `missing required AWS config parameters(s): ${setText(missing)}`);
  }
  const invalid = REQUIRED_AWS_KEYS.filter((k) => typeof cfg.get(k) !== "string");
  if (invalid.length) {
    throw operandMessage(
      NAME,
      2,
      `invalid values for required AWS config parameters(s): ${setText(invalid)}`,
    );
  }
}

function validateRequest(req: ObjectValue): void {
  const keys = req.keys();
  const unknown = keys.filter((k) => typeof k !== "string" || !ALLOWED_REQUEST_KEYS.has(k));
  if (unknown.length)
    throw operandMessage(NAME, 1, `invalid request parameters(s): ${setText(unknown)}`);
  const missing = REQUIRED_REQUEST_KEYS.filter((k) => !req.has(k));
  if (missing.length) {
    throw operandMessage(NAME, 1, `missing required request parameters(s): ${setText(missing)}`);
  }
}

function signReq(args: readonly Value[]): Value {
  const req = argObject(NAME, args, 0);
  const cfg = argObject(NAME, args, 1);
  validateAws(cfg);
  const ts = args[2] as Value;
  if (typeof ts !== "number" && typeof ts !== "bigint") throw operandError(NAME, 1, "number", ts);
  // Upstream accepts only plain int64 text; we also refuse instants before the epoch.
  if (
    (typeof ts === "number" && !Number.isSafeInteger(ts)) ||
    ts < 0 ||
    BigInt(ts) > (1n << 63n) - 1n
  ) {
    throw operandMessage(NAME, 3, "could not convert time_ns value into a unix timestamp");
  }
  validateRequest(req);
  const headersV = req.get("headers");
  let headers = new ObjectValue();
  if (headersV !== undefined) {
    if (!(headersV instanceof ObjectValue)) throw operandError(NAME, 0, "object", headersV);
    headers = headersV;
  }
  const invalid = ["url", "method"].filter((k) => typeof req.get(k) !== "string");
  if (invalid.length) {
    throw operandMessage(
      NAME,
      1,
      `invalid values for required request parameters(s): ${setText(invalid)}`,
    );
  }
  const service = str(cfg.get("aws_service"));
  const region = str(cfg.get("aws_region"));
  const token = str(cfg.get("aws_session_token"));
  const dps = cfg.get("disable_payload_signing");
  if (dps !== undefined && typeof dps !== "boolean") {
    throw operandMessage(NAME, 2, "invalid value for 'disable_payload_signing' in AWS config");
  }
  const rawBody = req.get("raw_body");
  const body =
    rawBody !== undefined ? str(rawBody) : req.has("body") ? goJson(req.get("body") as Value) : "";
  const contentHash = dps === true ? "UNSIGNED-PAYLOAD" : sha256Hex(body);
  const { host, path, query } = urlParts(str(req.get("url")));
  const { date, iso } = utcStamp(BigInt(ts));

  const awsHeaders = new Map<string, string>([
    ["host", host],
    ["x-amz-date", iso],
  ]);
  if (service === "s3" || service === "glacier")
    awsHeaders.set("x-amz-content-sha256", contentHash);
  if (token !== "") awsHeaders.set("x-amz-security-token", token);
  const toSign = new Map(awsHeaders);
  const original: [string, string][] = [];
  for (const [k, v] of headers.entries.values()) {
    const ks = str(k);
    original.push([ks, str(v)]);
    const lower = ks.toLowerCase();
    if (!IGNORED_HEADERS.has(lower)) toSign.set(lower, str(v));
  }
  const signed = [...toSign.keys()].sort(compareStrings);
  let canonical = `${str(req.get("method"))}\n${path}\n${query}\n`;
  for (const k of signed) canonical += `${k}:${toSign.get(k)}\n`;
  canonical += `\n${signed.join(";")}\n${contentHash}`;
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSignText = `AWS4-HMAC-SHA256\n${iso}\n${scope}\n${sha256Hex(canonical)}`;
  let key = hmac(`AWS4${str(cfg.get("aws_secret_access_key"))}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  const signature = hmac(key, toSignText).toString("hex");
  const auth = `AWS4-HMAC-SHA256 Credential=${str(cfg.get("aws_access_key"))}/${scope},SignedHeaders=${signed.join(";")},Signature=${signature}`;

  const outHeaders = new ObjectValue();
  for (const [k, v] of original) outHeaders.set(k, v);
  outHeaders.set("Authorization", auth);
  for (const [k, v] of awsHeaders) outHeaders.set(k, v);
  const out = new ObjectValue(new Map(req.entries));
  out.set("headers", outHeaders);
  return out;
}

/** `providers.aws.*` builtins. */
export const providersBuiltins: BuiltinTable = {
  "providers.aws.sign_req": { arity: 3, fn: (args) => signReq(args) },
};
