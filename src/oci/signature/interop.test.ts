import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { toolPath } from "../../../test/helpers/paths.js";
import { startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { hasCode } from "../../errors.js";
import { openImageDestination } from "../destination.js";
import { pullImage, resolveImage } from "../pull.js";
import { formatReference, parseReference } from "../reference.js";
import { buildTar, runTool, skopeoPush, writeTestImage } from "../testing.js";
import { openImageSource, parseImageLocation } from "../transport.js";
import { attachCosignSignature, loadCosignPrivateKey } from "./cosign.js";
import { signToLookaside } from "./gpg-sign.js";
import { loadRegistriesD } from "./lookaside.js";
import { parsePolicy } from "./policy.js";
import { createPolicyVerifier } from "./verifier.js";

const cosign = toolPath("cosign");

describe("signature interop with skopeo (GPG) and cosign", () => {
  let dir: string;
  let reg: TestRegistry;
  let layout: string;
  let gnupg: string;
  let fpr: string;
  let otherFpr: string;
  let regd: string;
  const env = () => ({ ...process.env, GNUPGHOME: gnupg });

  async function genKey(uid: string): Promise<string> {
    const r = await runTool(
      "gpg",
      ["--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
      { env: env() },
    );
    assert.equal(r.status, 0, r.stderr);
    const l = await runTool("gpg", ["--batch", "--with-colons", "--list-keys", uid], {
      env: env(),
    });
    const line = l.stdout.split("\n").find((x) => x.startsWith("fpr:"));
    return line!.split(":")[9]!;
  }
  async function exportKey(f: string, file: string): Promise<void> {
    const r = await runTool("gpg", ["--batch", "--export", f], { env: env() });
    assert.equal(r.status, 0);
    writeFileSync(file, Buffer.from(r.stdout, "latin1"));
  }
  async function pull(ref: string, policy: object, bundle: string): Promise<void> {
    const loc = parseImageLocation(ref);
    const { source, selector } = openImageSource(loc, { tlsVerify: false });
    try {
      if (loc.transport !== "docker") throw new Error("docker only");
      await pullImage({
        source,
        selector,
        bundleDir: bundle,
        verify: createPolicyVerifier({
          policy: parsePolicy(Buffer.from(JSON.stringify(policy))),
          reference: loc.reference,
          source,
          registriesD: loadRegistriesD(regd),
        }),
      });
    } finally {
      source.close();
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-sig-"));
    gnupg = join(dir, "gnupg");
    mkdirSync(gnupg, { mode: 0o700 });
    fpr = await genKey("coco signer <signer@coco.test>");
    otherFpr = await genKey("coco other <other@coco.test>");
    // gpg --export writes binary; runTool decodes utf8, so export to a file through --output.
    for (const [f, name] of [
      [fpr, "signer.gpg"],
      [otherFpr, "other.gpg"],
    ] as const) {
      const r = await runTool(
        "gpg",
        ["--batch", "--yes", "--output", join(dir, name), "--export", f],
        { env: env() },
      );
      assert.equal(r.status, 0, r.stderr);
    }
    void exportKey;
    regd = join(dir, "registries.d");
    mkdirSync(regd);
    writeFileSync(
      join(regd, "default.yaml"),
      `default-docker:\n  sigstore: file://${join(dir, "sigstore")}\n  sigstore-staging: file://${join(dir, "sigstore")}\n`,
    );
    layout = join(dir, "layout");
    writeTestImage(layout, "v1", [
      { tar: await buildTar([{ name: "signed.txt", content: "signed content\n" }]) },
    ]);
    reg = await startRegistry("plain");
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const gpgPolicy = (keyFile: string) => ({
    default: [{ type: "insecureAcceptAnything" }],
    transports: {
      docker: { [`${"REG"}/coco`]: [{ type: "signedBy", keyType: "GPGKeys", keyPath: keyFile }] },
    },
  });
  const withReg = (p: object) => JSON.parse(JSON.stringify(p).replaceAll("REG", reg.host));

  /** Copies the test layout's `v1` to `<registry>/coco/<repo>:v1` with skopeo, unsigned. */
  const pushUnsigned = (repo: string) => skopeoPush(layout, "v1", `${reg.host}/coco/${repo}:v1`);

  /** The manifest digest `<registry>/coco/<repo>:v1` resolves to. */
  async function manifestDigestOf(repo: string): Promise<string> {
    const ref = parseReference(`${reg.host}/coco/${repo}:v1`);
    const { source } = openImageSource(
      { transport: "docker", reference: ref },
      { tlsVerify: false },
    );
    try {
      return (await resolveImage(source, "v1")).manifestDigest;
    } finally {
      source.close();
    }
  }

  const cosignEnv = { ...process.env, COSIGN_PASSWORD: "pw-for-tests" };

  /** `cosign generate-key-pair` in a fresh `<dir>/<name>`; returns that folder. */
  async function cosignKeyPair(name: string): Promise<string> {
    const kdir = join(dir, name);
    mkdirSync(kdir);
    const g = await runTool("sh", ["-c", `cd ${kdir} && ${cosign} generate-key-pair`], {
      env: cosignEnv,
    });
    assert.equal(g.status, 0, g.stderr);
    return kdir;
  }

  test("skopeo --sign-by → our policy accepts; another key, and an unsigned image, are refused", async () => {
    const r = await runTool(
      "skopeo",
      [
        "copy",
        "--dest-tls-verify=false",
        "--registries.d",
        regd,
        "--sign-by",
        fpr,
        `oci:${layout}:v1`,
        `docker://${reg.host}/coco/gpg:v1`,
      ],
      { env: env() },
    );
    assert.equal(r.status, 0, r.stderr);
    await pushUnsigned("unsigned");
    await pull(
      `${reg.host}/coco/gpg:v1`,
      withReg(gpgPolicy(join(dir, "signer.gpg"))),
      join(dir, "b1"),
    );
    assert.equal(readFileSync(join(dir, "b1/rootfs/signed.txt"), "utf8"), "signed content\n");
    await assert.rejects(
      pull(`${reg.host}/coco/gpg:v1`, withReg(gpgPolicy(join(dir, "other.gpg"))), join(dir, "b2")),
      (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
    );
    await assert.rejects(
      pull(
        `${reg.host}/coco/unsigned:v1`,
        withReg(gpgPolicy(join(dir, "signer.gpg"))),
        join(dir, "b3"),
      ),
      (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
    );
    assert.ok(!existsSync(join(dir, "b2/rootfs")) && !existsSync(join(dir, "b3/rootfs")));
  });

  test("the same GPG signatures served from an HTTP lookaside are accepted, other keys refused", async () => {
    const { createServer } = await import("node:http");
    const root = join(dir, "sigstore");
    const server = createServer((req, res) => {
      const p = join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
      if (!p.startsWith(root) || !existsSync(p)) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.end(readFileSync(p));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const httpRegd = join(dir, "registries-http.d");
    mkdirSync(httpRegd, { recursive: true });
    writeFileSync(
      join(httpRegd, "default.yaml"),
      `default-docker:\n  lookaside: http://127.0.0.1:${port}\n`,
    );
    const saved = regd;
    regd = httpRegd;
    try {
      await pull(
        `${reg.host}/coco/gpg:v1`,
        withReg(gpgPolicy(join(dir, "signer.gpg"))),
        join(dir, "h1"),
      );
      await assert.rejects(
        pull(
          `${reg.host}/coco/gpg:v1`,
          withReg(gpgPolicy(join(dir, "other.gpg"))),
          join(dir, "h2"),
        ),
        (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
      );
    } finally {
      regd = saved;
      server.close();
    }
  });

  test("our GPG signature → skopeo --policy accepts it; with another key skopeo refuses", async () => {
    await pushUnsigned("oursigned");
    const ref = parseReference(`${reg.host}/coco/oursigned:v1`);
    await signToLookaside(
      loadRegistriesD(regd),
      ref,
      formatReference(ref),
      await manifestDigestOf("oursigned"),
      fpr,
      env(),
    );
    // skopeo pulls our signed image under a policy that trusts `key`.
    const skopeoPull = (key: string, to: string) => {
      const policy = join(dir, `policy-${key.replace(/\W/g, "")}.json`);
      writeFileSync(policy, JSON.stringify(withReg(gpgPolicy(key))));
      return runTool("skopeo", [
        "copy",
        "--remove-signatures",
        "--src-tls-verify=false",
        "--registries.d",
        regd,
        "--policy",
        policy,
        `docker://${reg.host}/coco/oursigned:v1`,
        `oci:${join(dir, to)}:v1`,
      ]);
    };
    const ok = await skopeoPull(join(dir, "signer.gpg"), "copied");
    assert.equal(ok.status, 0, ok.stderr);
    const bad = await skopeoPull(join(dir, "other.gpg"), "copied2");
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /signature|rejected|key/i);
    // And our own verifier agrees.
    await pull(
      `${reg.host}/coco/oursigned:v1`,
      withReg(gpgPolicy(join(dir, "signer.gpg"))),
      join(dir, "b4"),
    );
  });

  test("cosign sign --key → our policy accepts; a different key is refused", {
    skip: existsSync(cosign) ? false : "cosign not installed",
  }, async () => {
    const kdir = await cosignKeyPair("cosign");
    await pushUnsigned("cosigned");
    const digest = await manifestDigestOf("cosigned");
    const s = await runTool(
      cosign,
      [
        "sign",
        "--key",
        join(kdir, "cosign.key"),
        "--tlog-upload=false",
        "--allow-insecure-registry",
        "--allow-http-registry",
        "-y",
        `${reg.host}/coco/cosigned@${digest}`,
      ],
      { env: cosignEnv },
    );
    assert.equal(s.status, 0, s.stderr);
    const policy = (pub: string) =>
      withReg({
        default: [{ type: "reject" }],
        transports: { docker: { "REG/coco/cosigned": [{ type: "sigstoreSigned", keyPath: pub }] } },
      });
    await pull(`${reg.host}/coco/cosigned:v1`, policy(join(kdir, "cosign.pub")), join(dir, "c1"));
    assert.equal(readFileSync(join(dir, "c1/rootfs/signed.txt"), "utf8"), "signed content\n");
    const odir = await cosignKeyPair("cosign-other");
    await assert.rejects(
      pull(`${reg.host}/coco/cosigned:v1`, policy(join(odir, "cosign.pub")), join(dir, "c2")),
      (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
    );
  });

  test("our cosign signature (from cosign's encrypted key) → cosign verify --key accepts it", {
    skip: existsSync(cosign) ? false : "cosign not installed",
  }, async () => {
    const kdir = await cosignKeyPair("cosign2");
    await pushUnsigned("oursig");
    const loc = parseImageLocation(`${reg.host}/coco/oursig:v1`);
    const { source } = openImageSource(loc, { tlsVerify: false });
    const img = await resolveImage(source, "v1");
    const { dest } = openImageDestination(loc, { tlsVerify: false });
    const key = loadCosignPrivateKey(readFileSync(join(kdir, "cosign.key")), "pw-for-tests");
    assert.throws(
      () => loadCosignPrivateKey(readFileSync(join(kdir, "cosign.key")), "wrong"),
      (e) => hasCode(e, "ERR_OCI_SIGNATURE"),
    );
    await attachCosignSignature(dest, source, `${reg.host}/coco/oursig`, img.manifestDigest, key);
    source.close();
    dest.close();
    const v = await runTool(
      cosign,
      [
        "verify",
        "--key",
        join(kdir, "cosign.pub"),
        "--insecure-ignore-tlog=true",
        "--allow-insecure-registry",
        "--allow-http-registry",
        `${reg.host}/coco/oursig:v1`,
      ],
      { env: cosignEnv },
    );
    assert.equal(v.status, 0, v.stderr);
    const odir = await cosignKeyPair("cosign3");
    const v2 = await runTool(
      cosign,
      [
        "verify",
        "--key",
        join(odir, "cosign.pub"),
        "--insecure-ignore-tlog=true",
        "--allow-insecure-registry",
        "--allow-http-registry",
        `${reg.host}/coco/oursig:v1`,
      ],
      { env: cosignEnv },
    );
    assert.notEqual(v2.status, 0);
  });
});
