/**
 * The drop-in binaries end to end: the guest components started exactly as the Kata agent
 * starts them (fixed paths, fixed arguments, init-data configs) inside a private mount and
 * network namespace, against our Trustee run as `kbs --config-file` and administered with
 * `kbs-client`: a resource through the REST API, a token through AA, a sealed secret unsealed
 * by CDH. Needs root and `unshare`/`mount`/`ip`; skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../helpers/paths.js";
import { INITDATA_PATH, kataLaunchPlan } from "./kata-launch.js";

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return "needs root (private mount and network namespaces)";
  for (const tool of ["unshare", "mount", "ip"]) {
    if (spawnSync("which", [tool]).status !== 0) return `${tool} is not installed`;
  }
  for (const p of [process.execPath, repoRoot]) {
    if (/^\/(run|opt|usr\/local\/bin)(\/|$)/.test(p)) {
      return `${p} lies under a folder the scenario hides behind a tmpfs`;
    }
  }
  const probe = spawnSync("unshare", ["--mount", "--net", "--propagation", "private", "true"]);
  if (probe.status !== 0) return `unshare --mount --net is refused here: ${probe.stderr}`;
  return false;
}

const work = mkdtempSync(join(tmpdir(), "upstream-bins-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("the Kata agent's launch plan names upstream's paths and flags", () => {
  const plan = kataLaunchPlan({ initdataToml: true, aaToml: true, cdhToml: true }, 3, "all");
  assert.deepEqual(
    plan.map((s) => [s.path, ...s.args].join(" ")),
    [
      `/usr/local/bin/attestation-agent --attestation_sock unix:///run/confidential-containers/attestation-agent/attestation-agent.sock --initdata-toml ${INITDATA_PATH}/initdata.toml -c ${INITDATA_PATH}/aa.toml`,
      `/usr/local/bin/confidential-data-hub -c ${INITDATA_PATH}/cdh.toml`,
      "/usr/local/bin/api-server-rest --features all",
    ],
  );
  const bare = kataLaunchPlan({ initdataToml: false, aaToml: false, cdhToml: false });
  assert.deepEqual(bare[1]?.args, []);
  assert.deepEqual(bare[2]?.args, ["--features", "resource"]);
});

test("guest components started as the Kata agent does get a resource and unseal a secret from our kbs", {
  skip: skipReason(),
  timeout: 300_000,
}, async () => {
  const scenario = join(repoRoot, "dist", "test", "e2e", "kata-launch.scenario.js");
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "unshare",
      ["--mount", "--net", "--propagation", "private", process.execPath, scenario, work],
      { timeout: 280_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        if (line) resolve(line.slice("RESULT ".length));
        else
          reject(new Error(`scenario gave no result (${err?.message}):\n${stderr.slice(-4000)}`));
      },
    );
  });
  const r = JSON.parse(out) as Record<string, unknown>;
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.ok, true);
  assert.match(String(r.setPolicy), /^Set resource policy success/);
  assert.match(String(r.setResource), /^Set resource success/);
  assert.equal(r.kbsClientResource, true, "kbs-client get-resource returned the resource");
  assert.equal(r.restStatus, 200);
  assert.equal(r.restResource, true, "GET /cdh/resource/default/key/1 returned the resource");
  assert.equal(r.aaTokenStatus, 200);
  assert.equal(r.aaTokenHasKey, "string", "AA GetToken answered {token, tee_keypair}");
  assert.equal(r.unsealed, true, "CDH unsealed the vault secret");
  // Time from spawn to socket, for docs/interop.md (Kata waits launch_process_timeout, 6 s).
  process.stderr.write(`kata launch: ms to ready ${JSON.stringify(r.msToReady)}\n`);
});
