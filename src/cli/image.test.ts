import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot, toolPath } from "../../test/helpers/paths.js";
import { startRegistry, type TestRegistry } from "../../test/helpers/registry.js";
import { buildTar, runTool, skopeoPush, writeTestImage } from "../oci/testing.js";

// Runs the real `coco image` command group in its own process. Only this group is loaded, so
// the test does not depend on other groups' modules; errors print as main.ts prints them.
const harness = `
const { Command } = await import("commander");
const { registerImage } = await import(${JSON.stringify(join(repoRoot, "dist/src/cli/image.js"))});
const program = new Command("coco");
registerImage(program);
try { await program.parseAsync(process.argv.slice(1), { from: "user" }); }
catch (err) { process.stderr.write("coco: " + (err.code ? err.code + ": " : "") + err.message + "\\n"); process.exitCode = 1; }
`;
const coco = (args: string[], env?: NodeJS.ProcessEnv) =>
  runTool(
    process.execPath,
    ["--input-type=module", "-e", harness, "--", ...args],
    env ? { env } : {},
  );

describe("coco image (CLI)", () => {
  let dir: string;
  let reg: TestRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-cli-image-"));
    writeTestImage(
      join(dir, "layout"),
      "v1",
      [
        {
          tar: await buildTar([
            { name: "etc/", type: "directory" },
            { name: "etc/app.conf", content: "secret=1\n", mode: 0o600 },
          ]),
        },
      ],
      { Entrypoint: ["/app"], Cmd: ["--serve"], WorkingDir: "/srv" },
    );
    reg = await startRegistry("plain");
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("encrypt with --key jwe: to a registry, then pull with --decryption-key writes rootfs and config.json", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    writeFileSync(join(dir, "pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
    writeFileSync(join(dir, "priv.pem"), privateKey.export({ type: "sec1", format: "pem" }), {
      mode: 0o600,
    });
    const e = await coco([
      "image",
      "encrypt",
      "--key",
      `jwe:${join(dir, "pub.pem")}`,
      "--dest-tls-verify=false",
      `oci:${join(dir, "layout")}:v1`,
      `docker://${reg.host}/coco/cli:enc`,
    ]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(JSON.parse(e.stdout).manifestDigest, /^sha256:/);
    const noKey = await coco([
      "image",
      "pull",
      "--insecure-policy",
      "--tls-verify=false",
      `${reg.host}/coco/cli:enc`,
      join(dir, "b0"),
    ]);
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /ERR_OCI_DECRYPT_KEY/);
    const p = await coco([
      "image",
      "pull",
      "--insecure-policy",
      "--tls-verify=false",
      "--decryption-key",
      `jwe:${join(dir, "priv.pem")}`,
      `${reg.host}/coco/cli:enc`,
      join(dir, "b1"),
    ]);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(readFileSync(join(dir, "b1/rootfs/etc/app.conf"), "utf8"), "secret=1\n");
    const spec = JSON.parse(readFileSync(join(dir, "b1/config.json"), "utf8"));
    assert.deepEqual(spec.process.args, ["/app", "--serve"]);
    assert.equal(spec.process.cwd, "/srv");
    writeFileSync(
      join(dir, "registries.conf"),
      `[[registry]]\nprefix = "mirror.example"\n[[registry.mirror]]\nlocation = "${reg.host}"\ninsecure = true\n`,
    );
    const viaMirror = await coco([
      "image",
      "pull",
      "--insecure-policy",
      "--registries-conf",
      join(dir, "registries.conf"),
      "--decryption-key",
      join(dir, "priv.pem"),
      "mirror.example/coco/cli:enc",
      join(dir, "b-mirror"),
    ]);
    assert.equal(viaMirror.status, 0, viaMirror.stderr);
    assert.equal(readFileSync(join(dir, "b-mirror/rootfs/etc/app.conf"), "utf8"), "secret=1\n");
    const noPolicy = await coco([
      "image",
      "pull",
      "--policy",
      join(dir, "missing.json"),
      "--tls-verify=false",
      `${reg.host}/coco/cli:enc`,
      join(dir, "b2"),
    ]);
    assert.match(noPolicy.stderr, /ERR_OCI_POLICY/);
  });

  test("encrypt --kbs-key --kbs-key-out writes the generated key 0600 and the provider annotation", async () => {
    const out = join(dir, "kek.bin");
    const e = await coco([
      "image",
      "encrypt",
      "--kbs-key",
      "kbs:///default/key/cli",
      "--kbs-key-out",
      out,
      `oci:${join(dir, "layout")}:v1`,
      `oci:${join(dir, "kbs-enc")}:v1`,
    ]);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(readFileSync(out).length, 32);
    assert.equal(JSON.parse(e.stdout).kid, "kbs:///default/key/cli");
    const noDest = await coco([
      "image",
      "encrypt",
      "--kbs-key",
      "kbs:///default/key/cli",
      `oci:${join(dir, "layout")}:v1`,
      `oci:${join(dir, "x")}:v1`,
    ]);
    assert.match(noDest.stderr, /ERR_OCI_CONFIG/);
  });

  /** Copies the test layout's `v1` to `<registry>/coco/<repo>:v1` with skopeo. */
  const pushLayout = (repo: string) =>
    skopeoPush(join(dir, "layout"), "v1", `${reg.host}/coco/${repo}:v1`);

  /** Writes a policy.json that rejects all but `<registry>/coco/<repo>` under `requirement`. */
  function onlyRepoPolicy(file: string, repo: string, requirement: object): string {
    writeFileSync(
      file,
      JSON.stringify({
        default: [{ type: "reject" }],
        transports: { docker: { [`${reg.host}/coco/${repo}`]: [requirement] } },
      }),
    );
    return file;
  }

  /** `coco image verify` of `<registry>/coco/<repo>:v1` under `policy`. */
  const verify = (policy: string, repo: string, extra: string[] = []) =>
    coco([
      "image",
      "verify",
      "--policy",
      policy,
      ...extra,
      "--tls-verify=false",
      `${reg.host}/coco/${repo}:v1`,
    ]);

  test("sign --key (cosign key) then verify and pull under a sigstoreSigned policy", {
    skip: existsSync(toolPath("cosign")) ? false : "cosign not installed",
  }, async () => {
    const cenv = { ...process.env, COSIGN_PASSWORD: "cli-test" };
    const kdir = join(dir, "ck");
    mkdirSync(kdir);
    assert.equal(
      (
        await runTool("sh", ["-c", `cd ${kdir} && ${toolPath("cosign")} generate-key-pair`], {
          env: cenv,
        })
      ).status,
      0,
    );
    await pushLayout("signed");
    const policy = onlyRepoPolicy(join(dir, "policy.json"), "signed", {
      type: "sigstoreSigned",
      keyPath: join(kdir, "cosign.pub"),
    });
    const before = await verify(policy, "signed");
    assert.equal(before.status, 1);
    assert.equal(JSON.parse(before.stdout).allow, false);
    const s = await coco(
      [
        "image",
        "sign",
        "--key",
        join(kdir, "cosign.key"),
        "--tls-verify=false",
        `${reg.host}/coco/signed:v1`,
      ],
      cenv,
    );
    assert.equal(s.status, 0, s.stderr);
    const after = await verify(policy, "signed");
    assert.equal(after.status, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout).allow, true);
    const p = await coco([
      "image",
      "pull",
      "--policy",
      policy,
      "--tls-verify=false",
      `${reg.host}/coco/signed:v1`,
      join(dir, "signed-bundle"),
    ]);
    assert.equal(p.status, 0, p.stderr);
  });

  test("sign --gpg-key writes a lookaside signature that verify accepts under a signedBy policy", async () => {
    const gnupg = join(dir, "gnupg");
    mkdirSync(gnupg, { mode: 0o700 });
    const genv = { ...process.env, GNUPGHOME: gnupg };
    assert.equal(
      (
        await runTool(
          "gpg",
          [
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "cli signer <cli@coco.test>",
            "ed25519",
            "sign",
            "never",
          ],
          { env: genv },
        )
      ).status,
      0,
    );
    const list = await runTool("gpg", ["--batch", "--with-colons", "--list-keys"], { env: genv });
    const fpr = list.stdout
      .split("\n")
      .find((l) => l.startsWith("fpr:"))!
      .split(":")[9]!;
    assert.equal(
      (
        await runTool(
          "gpg",
          ["--batch", "--yes", "--output", join(dir, "cli-signer.gpg"), "--export", fpr],
          { env: genv },
        )
      ).status,
      0,
    );
    await pushLayout("gpg");
    const regd = join(dir, "regd");
    mkdirSync(regd);
    writeFileSync(
      join(regd, "d.yaml"),
      `default-docker:\n  lookaside: file://${join(dir, "lookaside")}\n  lookaside-staging: file://${join(dir, "lookaside")}\n`,
    );
    const policy = onlyRepoPolicy(join(dir, "gpg-policy.json"), "gpg", {
      type: "signedBy",
      keyType: "GPGKeys",
      keyPath: join(dir, "cli-signer.gpg"),
    });
    const before = await verify(policy, "gpg", ["--registries.d", regd]);
    assert.equal(before.status, 1);
    const s = await coco(
      [
        "image",
        "sign",
        "--gpg-key",
        fpr,
        "--registries.d",
        regd,
        "--tls-verify=false",
        `${reg.host}/coco/gpg:v1`,
      ],
      genv,
    );
    assert.equal(s.status, 0, s.stderr);
    const after = await verify(policy, "gpg", ["--registries.d", regd]);
    assert.equal(after.status, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout).allow, true);
  });
});
