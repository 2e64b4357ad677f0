import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildApfConfig, parseApfConfig } from "./apf-config.js";
import { buildCloudConfig, MAX_USER_DATA_BYTES, parseCloudConfig } from "./cloud-config.js";

const enc = (s: string) => new TextEncoder().encode(s);
const code = (c: string) => (e: { code?: string }) => e.code === c;

describe("cloud-config user-data", () => {
  test("round-trips write_files with multi-line and binary-looking content", () => {
    const files = [
      { path: "/run/peerpod/apf.json", content: '{\n  "pod-name": "x"\n}\n' },
      { path: "/run/peerpod/initdata", content: "H4sIAAAAAAAA/w==" },
      { path: "/run/peerpod/aa.toml", content: "" },
    ];
    const text = buildCloudConfig(files);
    assert.ok(text.startsWith("#cloud-config\nwrite_files:\n"));
    assert.deepEqual(parseCloudConfig(enc(text)).writeFiles, files);
  });

  test("reads upstream's shape (content as a YAML block scalar, no header)", () => {
    const text = "write_files:\n- path: /run/peerpod/initdata\n  content: |\n    abc\n    def\n";
    assert.deepEqual(parseCloudConfig(enc(text)).writeFiles, [
      { path: "/run/peerpod/initdata", content: "abc\ndef\n" },
    ]);
  });

  for (const [name, text] of [
    ["empty", ""],
    ["garbage", "\u0000\u0001{{{"],
    ["a scalar", "#cloud-config\nhello\n"],
    ["a list", "- a\n- b\n"],
    ["an unknown top-level key", "#cloud-config\nruncmd: [reboot]\n"],
    ["an unknown entry key", "write_files:\n- path: /a\n  content: x\n  permissions: '0777'\n"],
    ["a non-string path", "write_files:\n- path: 3\n  content: x\n"],
    ["a non-string content", "write_files:\n- path: /a\n  content: [1]\n"],
    ["duplicate keys", "write_files: []\nwrite_files: []\n"],
    ["an alias", "a: &x [1]\nwrite_files: *x\n"],
    ["another header", "#!/bin/sh\nreboot\n"],
    ["truncated YAML", 'write_files:\n- path: /a\n  content: "unterminated\n'],
  ] as const) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseCloudConfig(enc(text)), code("ERR_PEERPOD_USER_DATA"));
    });
  }

  test("refuses oversized user-data and too many files", () => {
    assert.throws(
      () => parseCloudConfig(new Uint8Array(MAX_USER_DATA_BYTES + 1)),
      code("ERR_PEERPOD_USER_DATA"),
    );
    const many = Array.from({ length: 17 }, (_, i) => ({
      path: `/run/peerpod/f${i}`,
      content: "",
    }));
    assert.throws(
      () => parseCloudConfig(enc(buildCloudConfig(many))),
      code("ERR_PEERPOD_USER_DATA"),
    );
  });

  test("refuses invalid UTF-8", () => {
    assert.throws(
      () => parseCloudConfig(new Uint8Array([0x77, 0x72, 0xff, 0xfe])),
      code("ERR_PEERPOD_USER_DATA"),
    );
  });
});

describe("apf.json", () => {
  const pem = (t: string) => `-----BEGIN ${t}-----\nAAAA\n-----END ${t}-----\n`;
  test("round-trips with upstream's field names", () => {
    const c = {
      podNamespace: "default",
      podName: "web",
      tlsServerKey: pem("PRIVATE KEY"),
      tlsServerCert: pem("CERTIFICATE"),
      tlsClientCa: pem("CERTIFICATE"),
    };
    const text = buildApfConfig(c);
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      "pod-namespace",
      "pod-name",
      "tls-server-key",
      "tls-server-cert",
      "tls-client-ca",
    ]);
    assert.deepEqual(parseApfConfig(text), c);
  });

  test("accepts and ignores upstream's pod-network and TLS profile fields", () => {
    const c = parseApfConfig(
      JSON.stringify({ "pod-name": "p", "pod-network": { x: 1 }, "tls-min-version": "1.3" }),
    );
    assert.deepEqual(c, { podName: "p", podNamespace: "" });
  });

  for (const [name, text] of [
    ["garbage", "{"],
    ["an array", "[]"],
    ["an unknown key", '{"listen":"0.0.0.0:1"}'],
    ["a non-string field", '{"pod-name":1}'],
    ["half the TLS material", JSON.stringify({ "tls-server-key": pem("PRIVATE KEY") })],
    [
      "TLS material that is not PEM",
      JSON.stringify({ "tls-server-key": "x", "tls-server-cert": "y", "tls-client-ca": "z" }),
    ],
    ["an oversized file", JSON.stringify({ "pod-name": "x".repeat(70_000) })],
  ] as const) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseApfConfig(text), code("ERR_PEERPOD_APF_CONFIG"));
    });
  }
});
