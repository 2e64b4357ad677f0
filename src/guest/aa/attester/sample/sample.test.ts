import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SAMPLE_LAUNCH_FIELD_ENV } from "../../../../tee/sample/index.js";
import { parseAaConfig } from "../../config.js";
import { startAttestationAgent } from "../../daemon.js";
import { detectAttester } from "../detect.js";
import { createSampleAttester } from "./sample.js";

const dir = mkdtempSync(join(tmpdir(), "sample-attester-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const TOML = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = ""\n';
const digestOf = (alg: string, text: string) =>
  new Uint8Array(createHash(alg).update(text).digest());

describe("sample attester launch field", () => {
  test("without a field: upstream's evidence and no init-data binding", async () => {
    const a = createSampleAttester();
    const ev = (await a.getEvidence(new Uint8Array(32))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(ev), ["svn", "report_data"]);
    assert.equal(await a.bindInitData(digestOf("sha384", TOML)), "unsupported");
  });

  test("with a field: evidence carries it and the matching digest binds", async () => {
    const field = digestOf("sha384", TOML);
    const a = createSampleAttester({ launchField: field });
    const ev = (await a.getEvidence(new Uint8Array(48))) as Record<string, unknown>;
    assert.equal(ev.init_data, Buffer.from(field).toString("base64"));
    assert.equal(await a.bindInitData(field), "bound");
  });

  test("refuses a digest that differs from the field (ERR_AA_INITDATA_MISMATCH)", async () => {
    const a = createSampleAttester({ launchField: digestOf("sha384", TOML) });
    await assert.rejects(a.bindInitData(digestOf("sha384", `${TOML}# changed\n`)), {
      code: "ERR_AA_INITDATA_MISMATCH",
    });
    // Another algorithm over the same text is another digest too.
    await assert.rejects(a.bindInitData(digestOf("sha256", TOML)), {
      code: "ERR_AA_INITDATA_MISMATCH",
    });
  });

  test("a digest longer than the field is truncated to it, as for SNP HOST_DATA", async () => {
    const d = digestOf("sha512", TOML);
    const a = createSampleAttester({ launchField: d.slice(0, 32) });
    assert.equal(await a.bindInitData(d), "bound");
  });

  test("the field is copied at creation: later changes to the caller's bytes do not count", async () => {
    const field = digestOf("sha256", TOML);
    const a = createSampleAttester({ launchField: field });
    field.fill(0);
    const ev = (await a.getEvidence(new Uint8Array(32))) as Record<string, unknown>;
    assert.equal(ev.init_data, Buffer.from(digestOf("sha256", TOML)).toString("base64"));
  });

  test("detection reads the field from the launcher's environment; garbage refuses", async () => {
    const field = digestOf("sha384", TOML);
    const env = { [SAMPLE_LAUNCH_FIELD_ENV]: Buffer.from(field).toString("base64") };
    const a = await detectAttester({ root: dir, env });
    assert.equal(a.tee, "sample");
    assert.equal(await a.bindInitData(field), "bound");
    await assert.rejects(
      detectAttester({ root: dir, env: { [SAMPLE_LAUNCH_FIELD_ENV]: "AAAA" } }),
      {
        code: "ERR_AA_ATTESTER",
      },
    );
    assert.throws(() => createSampleAttester({ launchField: new Uint8Array(7) }), {
      code: "ERR_AA_ATTESTER",
    });
  });

  test("the AA refuses to start when the init-data TOML does not match the field", async () => {
    const path = join(dir, "initdata.toml");
    writeFileSync(path, TOML);
    const good = digestOf("sha384", TOML);
    const lines: string[] = [];
    const aa = await startAttestationAgent({
      socket: `unix://${join(dir, "aa-ok.sock")}`,
      config: parseAaConfig(""),
      attester: createSampleAttester({ launchField: good }),
      initDataToml: path,
      log: (l) => lines.push(l),
    });
    await aa.close();
    assert.match(lines.join("\n"), /init-data bound to sample/);
    await assert.rejects(
      startAttestationAgent({
        socket: `unix://${join(dir, "aa-bad.sock")}`,
        config: parseAaConfig(""),
        attester: createSampleAttester({ launchField: digestOf("sha384", "other") }),
        initDataToml: path,
      }),
      { code: "ERR_AA_INITDATA_MISMATCH" },
    );
  });
});
