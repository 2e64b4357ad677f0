import { RegoError } from "../errors.js";
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import { argObject, argString, builtinError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** The request keys OPA's http.send accepts (v1 topdown/http.go). */
const HTTP_KEYS = new Set([
  "allow_insecure_redirect",
  "body",
  "cache",
  "cache_ignored_headers",
  "caching_mode",
  "enable_redirect",
  "force_cache",
  "force_cache_duration_seconds",
  "force_json_decode",
  "force_yaml_decode",
  "headers",
  "max_retry_attempts",
  "method",
  "raise_error",
  "raw_body",
  "timeout",
  "tls_ca_cert",
  "tls_ca_cert_env_variable",
  "tls_ca_cert_file",
  "tls_client_cert",
  "tls_client_cert_env_variable",
  "tls_client_cert_file",
  "tls_client_key",
  "tls_client_key_env_variable",
  "tls_client_key_file",
  "tls_insecure_skip_verify",
  "tls_server_name",
  "tls_use_system_certs",
  "url",
]);

/** Longest pause `test.sleep` grants (it blocks the thread). */
const MAX_SLEEP_MS = 1000;

function durationMs(name: string, s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 3.6e6,
  };
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== s.length)
    throw builtinError(name, `time: invalid duration ${JSON.stringify(s)}`);
  return total;
}

/**
 * OPA-runtime builtins. `http.send` validates its request as OPA does and then fails loudly:
 * policies in coco-ts never reach the network (mock it with `with http.send as ...`).
 */
export const opaBuiltins: BuiltinTable = {
  "http.send": {
    arity: 1,
    nondeterministic: true,
    fn: (args) => {
      const req = argObject("http.send", args, 0);
      const bad = SetValue.of(req.keys().filter((k) => typeof k !== "string" || !HTTP_KEYS.has(k)));
      if (bad.size > 0) {
        throw new RegoError(
          "ERR_REGO_TYPE",
          `http.send: invalid request parameters(s): ${fmtSet(bad)}`,
        );
      }
      const missing = SetValue.of(["method", "url"].filter((k) => !req.has(k)));
      if (missing.size > 0) {
        throw new RegoError(
          "ERR_REGO_TYPE",
          `http.send: missing required request parameters(s): ${fmtSet(missing)}`,
        );
      }
      throw new RegoError(
        "ERR_REGO_UNSUPPORTED",
        "http.send: network access from policies is disabled in coco-ts",
        { opaCode: "eval_builtin_error" },
      );
    },
  },
  "opa.runtime": {
    arity: 0,
    // No OPA runtime configuration exists here: OPA returns {} in that case too.
    fn: () => new ObjectValue(),
  },
  "test.sleep": {
    arity: 1,
    fn: (args) => {
      const ms = Math.min(MAX_SLEEP_MS, durationMs("test.sleep", argString("test.sleep", args, 0)));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return null;
    },
  },
};

function fmtSet(s: SetValue): string {
  return `{${s
    .sorted()
    .map((v: Value) => JSON.stringify(v))
    .join(", ")}}`;
}
