import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseCdhConfig } from "./config.js";
import { assertCredentialPath, provisionCredentials } from "./credentials.js";
import { createOfflineFsKbc } from "./kbc/offline-fs.js";

const dir = mkdtempSync(join(tmpdir(), "cdh-cred-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("CDH credentials and config", () => {
  test("credential paths must stay under <base>/kbs without . or ..", () => {
    assertCredentialPath(
      "/run/confidential-containers/cdh/kbs/a/b.json",
      "/run/confidential-containers/cdh",
    );
    for (const bad of [
      "/run/confidential-containers/cdh/other/x",
      "/run/confidential-containers/cdh/kbs/../x",
      "/run/confidential-containers/cdh/kbs/./x",
      "/run/confidential-containers/cdh/kbsx/y",
      "/etc/passwd",
    ]) {
      assert.throws(() => assertCredentialPath(bad, "/run/confidential-containers/cdh"), {
        code: "ERR_CDH_CREDENTIAL_PATH",
      });
    }
  });

  test("provisions every credential atomically with mode 0600 and refuses before fetching when one path is bad", async () => {
    writeFileSync(
      join(dir, "kbc.json"),
      JSON.stringify({ "default/cred/a": Buffer.from("A").toString("base64") }),
    );
    const getter = createOfflineFsKbc([join(dir, "kbc.json"), join(dir, "missing.json")]);
    const target = join(dir, "kbs", "x", "a.json");
    await provisionCredentials(
      [{ resourceUri: "kbs:///default/cred/a", path: target }],
      getter,
      dir,
    );
    assert.equal(readFileSync(target, "utf8"), "A");
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, "kbs", "x")), ["a.json"], "no temp files left");
    await assert.rejects(
      provisionCredentials(
        [
          { resourceUri: "kbs:///default/cred/a", path: join(dir, "kbs", "ok") },
          { resourceUri: "kbs:///default/cred/a", path: join(dir, "elsewhere") },
        ],
        getter,
        dir,
      ),
      { code: "ERR_CDH_CREDENTIAL_PATH" },
    );
    await assert.rejects(
      provisionCredentials(
        [{ resourceUri: "kbs:///default/cred/none", path: join(dir, "kbs", "n") }],
        getter,
        dir,
      ),
      {
        code: "ERR_CDH_RESOURCE_NOT_FOUND",
      },
    );
  });

  test("parses upstream's CDH config layout and rejects credentials without fields", () => {
    const c = parseCdhConfig(
      `socket = "unix:///tmp/cdh.sock"\n[kbc]\nname = "cc_kbc"\nurl = "http://kbs:8080"\n[[credentials]]\nresource_uri = "kbs:///a/b/c"\npath = "/run/confidential-containers/cdh/kbs/x"\n[image]\nmax_concurrent_layer_downloads_per_image = 3\n`,
    );
    assert.equal(c.kbc.name, "cc_kbc");
    assert.equal(c.credentials.length, 1);
    assert.equal(c.image?.max_concurrent_layer_downloads_per_image, 3);
    assert.equal(
      c.aaSocket,
      "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock",
    );
    assert.throws(() => parseCdhConfig(`[kbc]\nname = "cc_kbc"\n[[credentials]]\n`), {
      code: "ERR_CDH_CONFIG",
    });
    assert.throws(() => parseCdhConfig(`[kbc]\nname = "eaa_kbc"\n`), { code: "ERR_CDH_CONFIG" });
  });
});
