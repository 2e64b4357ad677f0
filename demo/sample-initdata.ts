/**
 * Sample TEE init-data binding demo, with real processes and no root: `coco trustee`, `coco aa
 * run` and `coco kbs-client`, each given the sample TEE's launch field in its environment as the
 * process sandbox gives it to the pod agent. The owner pins the expected init-data digest in
 * Trustee. Shown: the AA binds matching init-data and reports the field in its evidence; the AA
 * refuses to start when the host attached other init-data than the field says; Trustee refuses a
 * guest whose field differs from the init-data it sends (though the pin alone would release the
 * secret) and a guest that withholds init-data. The sample TEE protects nothing: this exercises
 * the binding paths hardware TEEs use.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SAMPLE_LAUNCH_FIELD_ENV } from "../src/tee/sample/index.js";
import { startProcess } from "../test/helpers/process.js";
import { cocoCli, startTrusteeProcess } from "../test/helpers/trustee-process.js";

const exec = promisify(execFile);

/** What the demo showed. */
export interface SampleInitDataDemoResult {
  /** The sample evidence the AA produced with a launch field (has `init_data`). */
  evidence: Record<string, unknown>;
  /** sha256 (hex) of the secret the honest guest received. */
  releasedDigest: string;
  /** Why the AA refused to start with init-data other than the launch field. */
  aaRefused: string;
  /** Trustee's reason for refusing a field that differs from the init-data sent. */
  mismatchRefused: string;
  /** Trustee's reason for refusing a field with init-data withheld. */
  withheldRefused: string;
}

const initData = (extra: string) =>
  `version = "0.1.0"\nalgorithm = "sha384"\n\n[data]\n"policy.rego" = '''\npackage agent_policy\ndefault ExecProcessRequest := ${extra}\n'''\n`;

/** Runs the story; every line goes to `log`. Throws if any step does not behave as described. */
export async function demoSampleInitData(
  log: (line: string) => void,
): Promise<SampleInitDataDemoResult> {
  const dir = mkdtempSync(join(tmpdir(), "coco-sample-initdata-"));
  const trustee = await startTrusteeProcess(dir);
  try {
    const good = initData("false");
    const altered = initData("true");
    const digest = (t: string) => createHash("sha384").update(t).digest();
    const field = (t: string) => digest(t).toString("base64");
    const goodFile = join(dir, "initdata.toml");
    const alteredFile = join(dir, "initdata-altered.toml");
    writeFileSync(goodFile, good);
    writeFileSync(alteredFile, altered);
    writeFileSync(join(dir, "aa.toml"), "");
    const secret = "demo-secret-for-the-expected-init-data";
    await trustee.putResource("default/demo/secret", secret);
    await trustee.pinInitData(digest(good).toString("base64"));
    log(
      `Trustee at ${trustee.url}; resource policy pins init-data sha384 ${digest(good).toString("hex").slice(0, 16)}…`,
    );

    const run = async (args: string[], launchField: string) => {
      const env = { ...process.env, [SAMPLE_LAUNCH_FIELD_ENV]: launchField };
      try {
        const r = await exec(process.execPath, [cocoCli, ...args], { env, maxBuffer: 1 << 20 });
        return { ok: true, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
      }
    };
    const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

    // 1. AA start with matching init-data: bound, and the evidence carries the field.
    const sock = `unix://${join(dir, "aa.sock")}`;
    const aa = await startProcess({
      name: "coco aa run",
      command: process.execPath,
      args: [cocoCli, "aa", "run", "-a", sock, "-c", join(dir, "aa.toml"), "-t", goodFile],
      env: { ...process.env, [SAMPLE_LAUNCH_FIELD_ENV]: field(good) },
      ready: { kind: "none" },
    });
    let evidence: Record<string, unknown>;
    try {
      const deadline = Date.now() + 15_000;
      while (!existsSync(join(dir, "aa.sock"))) {
        if (Date.now() > deadline) throw new Error(`AA did not start:\n${aa.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const rd = Buffer.alloc(48, 7).toString("base64");
      const ev = await run(["aa", "get-evidence", "-a", sock, "--runtime-data", rd], "");
      if (!ev.ok) throw new Error(`aa get-evidence failed: ${ev.stderr}`);
      evidence = JSON.parse(ev.stdout) as Record<string, unknown>;
      if (evidence.init_data !== field(good))
        throw new Error("the evidence lacks the launch field");
      if (!/init-data bound to sample/.test(aa.output())) throw new Error("AA did not bind");
      log("AA with init-data matching the launch field: init-data bound to sample");
      log(`  evidence: ${JSON.stringify(evidence)}`);
    } finally {
      await aa.stop();
    }

    // 2. The host attached altered init-data but claims the expected digest: AA refuses.
    const bad = await run(
      [
        "aa",
        "run",
        "-a",
        `unix://${join(dir, "aa2.sock")}`,
        "-c",
        join(dir, "aa.toml"),
        "-t",
        alteredFile,
      ],
      field(good),
    );
    if (bad.ok || !/ERR_AA_INITDATA_MISMATCH/.test(bad.stderr)) {
      throw new Error(`AA started with altered init-data: ${bad.stderr}`);
    }
    const aaRefused = lastLine(bad.stderr);
    log(`AA with altered init-data behind the expected launch field: ${aaRefused}`);

    // 3. Trustee: an honest guest gets the secret.
    const get = (launchField: string, toml?: string) =>
      run(
        [
          "kbs-client",
          "--url",
          trustee.url,
          "get-resource",
          "--path",
          "default/demo/secret",
          ...(toml === undefined ? [] : ["--init-data", toml]),
        ],
        launchField,
      );
    const honest = await get(field(good), good);
    if (!honest.ok) throw new Error(`the honest guest got no secret: ${honest.stderr}`);
    const released = Buffer.from(honest.stdout.trim(), "base64");
    if (released.toString() !== secret) throw new Error("Trustee released other bytes");
    const releasedDigest = createHash("sha256").update(released).digest("hex");
    log(
      `guest whose field matches the init-data it sends: secret released (sha256 ${releasedDigest.slice(0, 16)}…)`,
    );

    // 4. The TEE measured altered init-data, the guest sends the expected one: refused.
    const lying = await get(field(altered), good);
    if (lying.ok || !/init.data/i.test(lying.stderr)) {
      throw new Error(`Trustee released the secret to a mismatched guest: ${lying.stderr}`);
    }
    const mismatchRefused = lastLine(lying.stderr);
    log(
      `guest whose field differs from the init-data it sends (pin would match): ${mismatchRefused}`,
    );

    // 5. A field with the init-data withheld: refused.
    const hiding = await get(field(good));
    if (hiding.ok || !/init.data/i.test(hiding.stderr)) {
      throw new Error(`Trustee released the secret without init-data: ${hiding.stderr}`);
    }
    const withheldRefused = lastLine(hiding.stderr);
    log(`guest with a launch field that withholds init-data: ${withheldRefused}`);
    return { evidence, releasedDigest, aaRefused, mismatchRefused, withheldRefused };
  } finally {
    await trustee.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
