import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { fitDigest, parseInitData } from "./initdata.js";

const doc = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
"policy.rego" = "package agent_policy"
`;

describe("init-data", () => {
  test("digest is the named hash over the exact bytes", () => {
    const d = parseInitData(Buffer.from(doc));
    assert.equal(d.algorithm, "sha384");
    assert.equal(
      Buffer.from(d.digest).toString("hex"),
      createHash("sha384").update(doc).digest("hex"),
    );
    assert.equal(d.text, doc);
    assert.equal(d.data["policy.rego"], "package agent_policy");
    assert.match(d.data["aa.toml"] ?? "", /token_configs/);
    // one extra space changes the digest
    const d2 = parseInitData(`${doc} `);
    assert.notDeepEqual(d2.digest, d.digest);
  });

  test("sha256 and sm3 documents", () => {
    const t = doc.replace("sha384", "sha256");
    assert.equal(parseInitData(t).digest.length, 32);
    assert.equal(parseInitData(doc.replace("sha384", "sm3")).digest.length, 32);
  });

  for (const [name, text] of [
    ["bad version", doc.replace("0.1.0", "0.2.0")],
    ["spec spelling sha-384", doc.replace('"sha384"', '"sha-384"')],
    ["non-string data", 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = 1\n'],
    ["missing algorithm", 'version = "0.1.0"\n'],
  ] as const) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseInitData(text), { code: "ERR_INITDATA_FIELD" });
    });
  }

  test("rejects garbage, truncation and oversize", () => {
    assert.throws(() => parseInitData("\u0000\u0001garbage = = ="), { code: "ERR_INITDATA_PARSE" });
    assert.throws(() => parseInitData(doc.slice(0, 90)), { code: "ERR_INITDATA_PARSE" });
    assert.throws(() => parseInitData(new Uint8Array((1 << 20) + 1)), {
      code: "ERR_INITDATA_TOO_LARGE",
    });
  });

  test("rejects init-data from the host nested or keyed past the limits, before parsing it", () => {
    const deep = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\nx = "1"\n[y]\nz = ${"[".repeat(500)}${"]".repeat(500)}\n`;
    assert.throws(() => parseInitData(deep), { code: "ERR_INITDATA_TOO_LARGE" });
    const keys = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n${Array.from({ length: 5000 }, (_, i) => `k${i} = "v"`).join("\n")}\n`;
    assert.throws(() => parseInitData(keys), { code: "ERR_INITDATA_TOO_LARGE" });
  });

  test("fitDigest pads and truncates at the end", () => {
    assert.deepEqual([...fitDigest(new Uint8Array([1, 2]), 4)], [1, 2, 0, 0]);
    assert.deepEqual([...fitDigest(new Uint8Array([1, 2, 3]), 2)], [1, 2]);
  });
});
