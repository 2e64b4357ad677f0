import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { encodeInitDataAnnotation } from "../../protocol/agent/index.js";
import { buildApfConfig, buildCloudConfig } from "../../protocol/peerpod/index.js";
import { provisionUserData } from "./user-data.js";

const root = mkdtempSync(join(tmpdir(), "coco-userdata-"));
after(() => rmSync(root, { recursive: true, force: true }));
const pem = (t: string) => `-----BEGIN ${t}-----\nAAAA\n-----END ${t}-----\n`;
const apf = buildApfConfig({
  podNamespace: "default",
  podName: "p",
  tlsServerKey: pem("PRIVATE KEY"),
  tlsServerCert: pem("CERTIFICATE"),
  tlsClientCa: pem("CERTIFICATE"),
});
const toml =
  'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package agent_policy"\n';
const enc = (s: string) => new TextEncoder().encode(s);
const code = (c: string) => (e: { code?: string }) => e.code === c;
let n = 0;
const fresh = () => join(root, String(n++));

describe("process-user-data", () => {
  test("writes the allowed files 0600, decodes and hashes the init-data, skips other paths", () => {
    const r = fresh();
    const ud = buildCloudConfig([
      { path: "/run/peerpod/apf.json", content: apf },
      { path: "/run/peerpod/initdata", content: encodeInitDataAnnotation(toml) },
      { path: "/etc/shadow", content: "root::0:0::::" },
    ]);
    const p = provisionUserData(enc(ud), { root: r });
    assert.deepEqual(p.refused, ["/etc/shadow"]);
    assert.equal(existsSync(join(r, "etc/shadow")), false);
    assert.equal(readFileSync(join(r, "run/peerpod/initdata.toml"), "utf8"), toml);
    assert.equal(statSync(join(r, "run/peerpod/apf.json")).mode & 0o777, 0o600);
    assert.equal(
      readFileSync(join(r, "run/peerpod/initdata.digest"), "utf8"),
      Buffer.from(p.initData!.digest).toString("hex"),
    );
    assert.equal(p.apf.podName, "p");
  });

  test("no init-data: provisioned without it (the agent will deny everything)", () => {
    const p = provisionUserData(
      enc(buildCloudConfig([{ path: "/run/peerpod/apf.json", content: apf }])),
      { root: fresh() },
    );
    assert.equal(p.initData, undefined);
  });

  for (const [name, ud, c] of [
    ["garbage", "\u0000\u0001", "ERR_PODVM_USER_DATA"],
    ["no apf.json", buildCloudConfig([]), "ERR_PODVM_USER_DATA"],
    [
      "apf.json without TLS",
      buildCloudConfig([{ path: "/run/peerpod/apf.json", content: "{}" }]),
      "ERR_PODVM_USER_DATA",
    ],
    [
      "a file written twice",
      buildCloudConfig([
        { path: "/run/peerpod/apf.json", content: apf },
        { path: "/run/peerpod/apf.json", content: apf },
      ]),
      "ERR_PODVM_USER_DATA",
    ],
    [
      "init-data that is not base64 of gzip",
      buildCloudConfig([
        { path: "/run/peerpod/apf.json", content: apf },
        { path: "/run/peerpod/initdata", content: "not base64!" },
      ]),
      "ERR_PODVM_INITDATA",
    ],
    [
      "truncated init-data",
      buildCloudConfig([
        { path: "/run/peerpod/apf.json", content: apf },
        { path: "/run/peerpod/initdata", content: encodeInitDataAnnotation(toml).slice(0, 20) },
      ]),
      "ERR_PODVM_INITDATA",
    ],
    [
      "init-data that is not init-data TOML",
      buildCloudConfig([
        { path: "/run/peerpod/apf.json", content: apf },
        { path: "/run/peerpod/initdata", content: encodeInitDataAnnotation('version = "9"') },
      ]),
      "ERR_PODVM_INITDATA",
    ],
  ] as const) {
    test(`refuses ${name} and writes nothing`, () => {
      const r = fresh();
      assert.throws(() => provisionUserData(enc(ud), { root: r }), code(c));
      assert.equal(existsSync(join(r, "run")), false);
    });
  }
});
