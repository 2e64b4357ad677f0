/**
 * Upstream's configuration layouts (reproduced in testdata/upstream, see its README) through
 * the drop-in binaries' loaders, and the drop-ins' flag and environment handling.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../../../test/helpers/paths.js";
import { loadAaConfig } from "../../guest/aa/config.js";
import { parseImagePullConfig } from "../../guest/cdh/image/config.js";
import { loadTrusteeConfig } from "../../trustee/config.js";
import { decodeInitdataDigest, resolveAaConfig } from "./attestation-agent.js";
import { cmdlineParam, parseLogFilter } from "./common.js";
import {
  credentialsFromCmdline,
  imageConfigFromCmdline,
  resolveCdhConfig,
} from "./confidential-data-hub.js";
import { resolveAdminToken } from "./kbs-client.js";

const exec = promisify(execFile);
const testdata = join(repoRoot, "src", "cli", "bin", "testdata", "upstream");
const bin = join(repoRoot, "dist", "src", "cli", "bin");
const tmp = mkdtempSync(join(tmpdir(), "upstream-configs-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a drop-in binary; returns exit code and output (never throws). */
async function runBin(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [join(bin, `${name}.js`), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

describe("attestation-agent config files (guest-components config.example.* and test/config*.toml)", () => {
  test("config.example.toml and .json load to the same settings", () => {
    for (const f of ["config.example.toml", "config.example.json"]) {
      const c = loadAaConfig(join(testdata, "aa", f));
      assert.equal(c.kbs?.url, "https://127.0.0.1:8080", f);
      assert.equal(c.kbs?.teeKeyAlgorithm, "ec-p256", f);
      assert.match(c.kbs?.cert ?? "", /BEGIN CERTIFICATE/, f);
      assert.equal(c.cocoAs?.url, "http://127.0.0.1:8000", f);
      assert.deepEqual(c.eventlog, { initPcr: 17, enabled: false }, f);
      assert.equal(c.logLevel, "info", f);
    }
  });

  test("the test configs load, empty ones to the defaults", () => {
    const c1 = loadAaConfig(join(testdata, "aa", "config1.toml"));
    assert.equal(c1.logLevel, "warn");
    assert.equal(c1.kbs?.cert, "cert");
    for (const f of ["config4.toml", "config5.toml", "config6.toml"]) {
      const c = loadAaConfig(join(testdata, "aa", f));
      assert.equal(c.kbs, undefined, f);
      assert.deepEqual(c.eventlog, { initPcr: 17, enabled: false }, f);
    }
  });

  test("an upstream value coco-ts does not support is refused by name", () => {
    const f = join(tmp, "pqc.toml");
    writeFileSync(
      f,
      '[token_configs.kbs]\nurl = "http://k"\ntee_key_algorithm = "ML-KEM-768+A192KW"\n',
    );
    assert.throws(() => loadAaConfig(f), /token_configs\.kbs\.tee_key_algorithm must be one of/);
  });

  test("without -c: AA_KBC_PARAMS, else kernel agent.aa_kbc_params (cc_kbc gives a KBS)", () => {
    const cmdline = "console=hvc0 agent.aa_kbc_params=cc_kbc::http://10.0.0.1:8080 quiet";
    assert.equal(resolveAaConfig({}, {}, cmdline).kbs?.url, "http://10.0.0.1:8080");
    assert.equal(
      resolveAaConfig({}, { AA_KBC_PARAMS: "cc_kbc::http://env:1" }, cmdline).kbs?.url,
      "http://env:1",
    );
    assert.equal(resolveAaConfig({}, { AA_KBC_PARAMS: "offline_fs_kbc::null" }, "").kbs, undefined);
    assert.throws(() => resolveAaConfig({}, { AA_KBC_PARAMS: "cc_kbc" }, ""), /<kbc>::<url>/);
  });

  test("--initdata-digest is standard base64", () => {
    assert.deepEqual([...decodeInitdataDigest("AAEC")], [0, 1, 2]);
    assert.throws(() => decodeInitdataDigest("AA-_"), /standard base64/);
  });
});

describe("confidential-data-hub config files (example.config.toml, hub/tests/cdh.toml)", () => {
  test("example.config.toml loads; its [image] image_pull_proxy is refused by name", () => {
    const { config } = resolveCdhConfig(join(testdata, "cdh", "example.config.toml"), {}, "");
    assert.equal(config.kbc.name, "cc_kbc");
    assert.equal(config.kbc.url, "http://kbs.example:8080");
    assert.match(config.kbc.kbsCert ?? "", /BEGIN CERTIFICATE/);
    assert.equal(config.credentials.length, 2);
    assert.equal(
      config.aaSocket,
      "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock",
    );
    assert.throws(
      () => parseImagePullConfig(config.image),
      /\[image\] image_pull_proxy is not supported/,
    );
    const { image_pull_proxy: _, ...rest } = config.image ?? {};
    const image = parseImagePullConfig(rest);
    assert.equal(image.workDir, "/run/image-rs");
    assert.equal(image.policyUri, "kbs:///default/security-policy/test");
    assert.equal(image.extraRootCertificates.length, 1);
  });

  test("hub/tests/cdh.toml loads with its image settings", () => {
    const { config } = resolveCdhConfig(join(testdata, "cdh", "tests-cdh.toml"), {}, "");
    assert.equal(config.kbc.name, "offline_fs_kbc");
    const image = parseImagePullConfig(config.image);
    assert.equal(image.maxConcurrentLayerDownloads, 4);
    assert.equal(image.credentialsUri, "kbs:///default/credential/test");
  });

  test("environment variables set before start win over the file, as upstream's set_configuration_envs", () => {
    const { config, notes } = resolveCdhConfig(
      join(testdata, "cdh", "tests-cdh.toml"),
      {
        AA_KBC_PARAMS: "cc_kbc::http://env-kbs:8080",
        AA_SOCKET: "unix:///tmp/aa.sock",
        KBS_CERT: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
        SKIP_SEALED_SECRET_VERIFICATION: "true",
        CDH_DEFAULT_IMAGE_AUTHENTICATED_REGISTRY_CREDENTIALS: "file:///etc/auth.json",
      },
      "cdh.kbs_resources=kbs:///default/a/1::/run/confidential-containers/cdh/kbs/a,bad,kbs:///default/b/2::/run/confidential-containers/cdh/kbs/b",
    );
    assert.deepEqual(config.kbc, {
      name: "cc_kbc",
      url: "http://env-kbs:8080",
      kbsCert: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
    });
    assert.equal(config.aaSocket, "unix:///tmp/aa.sock");
    assert.equal(config.skipSealedSecretVerification, true);
    assert.equal(config.image?.authenticated_registry_credentials_uri, "file:///etc/auth.json");
    assert.deepEqual(
      config.credentials.map((c) => c.resourceUri),
      ["kbs:///default/a/1", "kbs:///default/b/2"],
    );
    assert.ok(notes.some((n) => /AA_KBC_PARAMS from the environment overrides/.test(n)));
  });

  test("without -c: kbc from aa_kbc_params, image settings from the kernel command line", () => {
    const cmdline =
      "agent.aa_kbc_params=cc_kbc::http://10.0.0.1:8080 agent.image_registry_auth=kbs:///default/auth/1 agent.enable_signature_verification=true agent.image_policy_file=kbs:///default/policy/1";
    const { config } = resolveCdhConfig(undefined, {}, cmdline);
    assert.deepEqual(config.kbc, { name: "cc_kbc", url: "http://10.0.0.1:8080" });
    assert.deepEqual(config.image, {
      authenticated_registry_credentials_uri: "kbs:///default/auth/1",
      image_security_policy_uri: "kbs:///default/policy/1",
    });
    assert.deepEqual(imageConfigFromCmdline("agent.http_proxy=http://p:3128"), {
      image_pull_proxy: { http_proxy: "http://p:3128" },
    });
    assert.equal(resolveCdhConfig(undefined, {}, "").config.kbc.name, "offline_fs_kbc");
    assert.deepEqual(credentialsFromCmdline("cdh.kbs_resources="), []);
  });
});

describe("kbs config files (trustee kbs/config and kbs/test_data/configs)", () => {
  const expected: Record<string, RegExp | "ok"> = {
    "kbs-config.toml": "ok",
    "coco-as-builtin-2.toml": "ok",
    "coco-as-builtin-1.toml": /HTTPS needs private_key and certificate/,
    "coco-as-builtin-3.toml": /identity_providers needs at least one entry/,
    "kbs-config-grpc.toml": /attestation_service\.type = "coco_as_grpc" is not implemented/,
    "docker-compose-kbs-config.toml":
      /attestation_service\.type = "coco_as_grpc" is not implemented/,
    "kbs-config-intel-trust-authority.toml":
      /attestation_service\.type = "intel_ta" is not implemented/,
    "intel-ta-1.toml": /attestation_service\.type = "intel_ta" is not implemented/,
    "tls-profile-custom.toml": /coco_as_grpc/,
  };
  for (const [file, want] of Object.entries(expected)) {
    test(`${file}: ${want === "ok" ? "loads" : "refused, naming the key"}`, () => {
      const path = join(testdata, "kbs", file);
      if (want === "ok") loadTrusteeConfig(path);
      else assert.throws(() => loadTrusteeConfig(path), want);
    });
  }

  test("the same layout loads from JSON and YAML by extension, as upstream's config crate", () => {
    const json = join(tmp, "kbs.json");
    writeFileSync(
      json,
      JSON.stringify({
        http_server: { insecure_http: true, sockets: ["127.0.0.1:18080"] },
        admin: { authorization_mode: "InsecureAllowAll" },
        storage_backend: { storage_type: "Memory" },
        plugins: [{ name: "resource", storage_backend_type: "kvstorage" }],
      }),
    );
    assert.deepEqual(loadTrusteeConfig(json).http.sockets, ["127.0.0.1:18080"]);
    const yaml = join(tmp, "kbs.yaml");
    writeFileSync(
      yaml,
      "http_server:\n  insecure_http: true\nadmin:\n  authorization_mode: DenyAll\nstorage_backend:\n  storage_type: Memory\n  bogus: 1\n",
    );
    assert.throws(() => loadTrusteeConfig(yaml), /unknown key storage_backend\.bogus/);
    assert.throws(() => loadTrusteeConfig(join(tmp, "kbs.ini")), /unsupported format \.ini/);
  });
});

describe("drop-in flags and environment", () => {
  test("RUST_LOG-style filters: the default level, per-target directives ignored", () => {
    assert.equal(parseLogFilter("warn,ttrpc=debug"), "warn");
    assert.equal(parseLogFilter("ttrpc=debug"), "info");
    assert.throws(() => parseLogFilter("loud"), /RUST_LOG|is not one of/);
    assert.equal(cmdlineParam("a=1 b=2", "b"), "2");
  });

  test("kbs-client finds the admin token as upstream: flag, docker-compose path, ~/.trustee", () => {
    const home = join(tmp, "home");
    assert.equal(resolveAdminToken(undefined, { HOME: home }, tmp), undefined);
    const f = join(tmp, "tok");
    writeFileSync(f, "abc\n");
    assert.equal(resolveAdminToken(f, {}, tmp), "abc");
  });

  test("each binary names upstream's flags in --help and rejects unknown options", async () => {
    const flags: Record<string, string[]> = {
      "attestation-agent": [
        "--attestation_sock",
        "--config-file",
        "--initdata-digest",
        "--initdata-toml",
      ],
      "confidential-data-hub": ["-c, --config"],
      "api-server-rest": ["--bind", "--features", "--cdh_addr", "--aa_addr"],
      "coco-keyprovider": ["--socket", "--auth-private-key", "--kbs", "--daemon"],
      kbs: ["--config-file"],
      "kbs-client": ["--url", "--cert-file", "attest", "get-resource", "config"],
    };
    for (const [name, want] of Object.entries(flags)) {
      const help = await runBin(name, ["--help"]);
      assert.equal(help.code, 0, `${name} --help`);
      for (const f of want) assert.ok(help.stdout.includes(f), `${name} --help names ${f}`);
      const required = name === "coco-keyprovider" ? ["-s", "127.0.0.1:1"] : [];
      const bad = await runBin(name, [...required, "--no-such-flag"]);
      assert.notEqual(bad.code, 0, `${name} rejects an unknown option`);
      assert.match(bad.stderr, /unknown option '--no-such-flag'/);
    }
  });

  test("invocation errors name the flag and the rule", async () => {
    const aa = await runBin("attestation-agent", ["--attestation_sock", "vsock://3:1"]);
    assert.equal(aa.code, 1);
    assert.match(aa.stderr, /--attestation_sock .*unix:\/\/ only/);
    const api = await runBin("api-server-rest", ["--features", "everything"]);
    assert.match(
      api.stderr,
      /Unknown features\. Supported features are: resource, attestation, all\./,
    );
    const kbs = await runBin("kbs", [], { KBS_CONFIG_FILE: "" });
    assert.match(kbs.stderr, /--config-file <CONFIG_FILE> \(or KBS_CONFIG_FILE\)/);
    const kbsBad = await runBin("kbs", [
      "--config-file",
      join(testdata, "kbs", "kbs-config-grpc.toml"),
    ]);
    assert.equal(kbsBad.code, 1);
    assert.match(kbsBad.stderr, /ERR_TRUSTEE_CONFIG: attestation_service\.type = "coco_as_grpc"/);
    const kp = await runBin("coco-keyprovider", ["--socket", "localhost:50000"]);
    assert.match(kp.stderr, /--socket "localhost:50000": invalid socket address syntax/);
    const kc = await runBin("kbs-client", [
      "get-resource",
      "--path",
      "default/key/1",
      "--attestation-token",
      "/nonexistent",
    ]);
    assert.match(kc.stderr, /`--tee_key_file` argument should also be set/);
    const rlog = await runBin(
      "confidential-data-hub",
      ["-c", join(testdata, "cdh", "tests-cdh.toml")],
      {
        RUST_LOG: "shout",
      },
    );
    assert.equal(rlog.code, 1);
    assert.match(rlog.stderr, /log filter "shout" is invalid/);
  });
});
