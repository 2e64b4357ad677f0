import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { freePort } from "../../../test/helpers/ports.js";
import { type RunningProcess, startProcess } from "../../../test/helpers/process.js";
import { REGISTRY_BIN, startRegistry, type TestRegistry } from "../../../test/helpers/registry.js";
import { x509 } from "../../crypto/x509.js";
import { hasCode } from "../../errors.js";
import { loadPrivateKey } from "../layer/keys.js";
import { hostPlatform } from "../manifest.js";
import { acceptAnything, pullImage } from "../pull.js";
import { buildTar, runTool, writeTestImage, writeTestIndex } from "../testing.js";
import { openImageSource, parseImageLocation } from "../transport.js";
import { parseAuthFile } from "./auth.js";

// Async, so in-process servers (the token server) keep answering while skopeo runs.
async function skopeo(args: string[]): Promise<void> {
  const r = await runTool("skopeo", args);
  assert.equal(r.status, 0, `skopeo ${args[0]}: ${r.stderr}`);
}

function authFileFor(dir: string, host: string, user: string, pass: string): string {
  const p = join(dir, `auth-${randomBytes(3).toString("hex")}.json`);
  writeFileSync(
    p,
    JSON.stringify({
      auths: { [host]: { auth: Buffer.from(`${user}:${pass}`).toString("base64") } },
    }),
    { mode: 0o600 },
  );
  return p;
}

describe("registry client against the CNCF distribution registry", () => {
  let dir: string;
  let layout: string;
  const regs: TestRegistry[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "coco-oci-reg-"));
    layout = join(dir, "layout");
    writeTestImage(layout, "v1", [
      {
        tar: await buildTar([
          { name: "etc/", type: "directory" },
          { name: "etc/os-release", content: "ID=coco\n" },
        ]),
      },
      { tar: await buildTar([{ name: "app/hello.txt", content: "hello registry\n" }]) },
    ]);
  });
  after(async () => {
    for (const r of regs) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("pulls from a plain registry (anonymous, --tls-verify=false)", async () => {
    const reg = await startRegistry("plain");
    regs.push(reg);
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout}:v1`,
      `docker://${reg.host}/coco/plain:v1`,
    ]);
    const { source, selector } = openImageSource(parseImageLocation(`${reg.host}/coco/plain:v1`), {
      tlsVerify: false,
    });
    const out = join(dir, "b-plain");
    const res = await pullImage({ source, selector, bundleDir: out, verify: acceptAnything });
    source.close();
    assert.equal(readFileSync(join(out, "rootfs/app/hello.txt"), "utf8"), "hello registry\n");
    assert.match(res.manifestDigest, /^sha256:/);
  });

  test("pulls a Docker schema 2 image (skopeo --format v2s2) and an index choosing the host platform", async () => {
    const reg = await startRegistry("plain");
    regs.push(reg);
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--format",
      "v2s2",
      `oci:${layout}:v1`,
      `docker://${reg.host}/coco/docker:v1`,
    ]);
    const d = openImageSource(parseImageLocation(`${reg.host}/coco/docker:v1`), {
      tlsVerify: false,
    });
    const m = await d.source.getManifest("v1");
    assert.equal(m.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    await pullImage({ ...d, bundleDir: join(dir, "b-docker"), verify: acceptAnything });
    d.source.close();
    assert.equal(
      readFileSync(join(dir, "b-docker/rootfs/app/hello.txt"), "utf8"),
      "hello registry\n",
    );
    // An index with an arm64 image (other content) and the host's image.
    const multi = join(dir, "multi");
    const other = writeTestImage(
      multi,
      "arm",
      [{ tar: await buildTar([{ name: "which", content: "arm64" }]) }],
      {},
      "arm64",
    );
    const host = writeTestImage(
      multi,
      "host",
      [{ tar: await buildTar([{ name: "which", content: "host" }]) }],
      {},
      hostPlatform().architecture,
    );
    writeTestIndex(multi, "multi", [
      {
        digest: other.manifestDigest,
        size: other.manifest.length,
        platform: { os: "linux", architecture: "arm64" },
      },
      { digest: host.manifestDigest, size: host.manifest.length, platform: hostPlatform() },
    ]);
    await skopeo([
      "copy",
      "--all",
      "--dest-tls-verify=false",
      `oci:${multi}:multi`,
      `docker://${reg.host}/coco/multi:v1`,
    ]);
    const mi = openImageSource(parseImageLocation(`${reg.host}/coco/multi:v1`), {
      tlsVerify: false,
    });
    const res = await pullImage({ ...mi, bundleDir: join(dir, "b-multi"), verify: acceptAnything });
    assert.equal(readFileSync(join(dir, "b-multi/rootfs/which"), "utf8"), "host");
    assert.match(res.listDigest ?? "", /^sha256:/);
    await pullImage({
      ...mi,
      bundleDir: join(dir, "b-multi-arm"),
      verify: acceptAnything,
      platform: { os: "linux", architecture: "arm64" },
    });
    mi.source.close();
    assert.equal(readFileSync(join(dir, "b-multi-arm/rootfs/which"), "utf8"), "arm64");
  });

  test("pulls with Basic credentials from auth.json and refuses without them", async () => {
    const reg = await startRegistry("basic-auth");
    regs.push(reg);
    const authPath = authFileFor(dir, reg.host, reg.username!, reg.password!);
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--dest-authfile",
      authPath,
      `oci:${layout}:v1`,
      `docker://${reg.host}/coco/private:v1`,
    ]);
    const loc = parseImageLocation(`docker://${reg.host}/coco/private:v1`);
    const anon = openImageSource(loc, { tlsVerify: false });
    await assert.rejects(
      pullImage({ ...anon, bundleDir: join(dir, "b-anon"), verify: acceptAnything }),
      (e) => hasCode(e, "ERR_OCI_AUTH"),
    );
    anon.source.close();
    const withAuth = openImageSource(loc, {
      tlsVerify: false,
      auth: parseAuthFile(readFileSync(authPath)),
    });
    const out = join(dir, "b-auth");
    await pullImage({ ...withAuth, bundleDir: out, verify: acceptAnything });
    withAuth.source.close();
    assert.equal(readFileSync(join(out, "rootfs/etc/os-release"), "utf8"), "ID=coco\n");
    const wrong = openImageSource(loc, {
      tlsVerify: false,
      credentials: { username: reg.username!, password: "wrong" },
    });
    await assert.rejects(wrong.source.getManifest("v1"), (e) => hasCode(e, "ERR_OCI_AUTH"));
    wrong.source.close();
  });

  test("pulls over TLS with a configured CA and refuses an unknown CA", async () => {
    const reg = await startRegistry("tls");
    regs.push(reg);
    const certDir = join(dir, "certs");
    spawnSync("mkdir", ["-p", certDir]);
    writeFileSync(join(certDir, "ca.crt"), reg.caPem!);
    await skopeo([
      "copy",
      "--dest-cert-dir",
      certDir,
      `oci:${layout}:v1`,
      `docker://${reg.host}/coco/tls:v1`,
    ]);
    const loc = parseImageLocation(`${reg.host}/coco/tls:v1`);
    const noCa = openImageSource(loc);
    await assert.rejects(noCa.source.getManifest("v1"), (e) => hasCode(e, "ERR_OCI_HTTP"));
    noCa.source.close();
    const ok = openImageSource(loc, { ca: [reg.caPem!] });
    const out = join(dir, "b-tls");
    await pullImage({ ...ok, bundleDir: out, verify: acceptAnything });
    ok.source.close();
    assert.equal(readFileSync(join(out, "rootfs/app/hello.txt"), "utf8"), "hello registry\n");
  });

  test("decrypts an image skopeo encrypted with --encryption-key jwe:, and refuses without the key", async () => {
    const reg = await startRegistry("plain");
    regs.push(reg);
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--encryption-key",
      `jwe:${join(dir, "pub.pem")}`,
      `oci:${layout}:v1`,
      `docker://${reg.host}/coco/enc:v1`,
    ]);
    const loc = parseImageLocation(`${reg.host}/coco/enc:v1`);
    const a = openImageSource(loc, { tlsVerify: false });
    await assert.rejects(
      pullImage({ ...a, bundleDir: join(dir, "b-nokey"), verify: acceptAnything }),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
    );
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    await assert.rejects(
      pullImage({
        ...a,
        bundleDir: join(dir, "b-wrongkey"),
        verify: acceptAnything,
        keys: { privateKeys: [other] },
      }),
      (e) => hasCode(e, "ERR_OCI_DECRYPT_KEY"),
    );
    const out = join(dir, "b-enc");
    const pem = privateKey.export({ type: "pkcs1", format: "pem" });
    const res = await pullImage({
      ...a,
      bundleDir: out,
      verify: acceptAnything,
      keys: { privateKeys: [loadPrivateKey(Buffer.from(pem))] },
    });
    a.source.close();
    assert.ok(res.layers.every((l) => l.encrypted));
    assert.equal(readFileSync(join(out, "rootfs/app/hello.txt"), "utf8"), "hello registry\n");
  });

  test("follows the Bearer token challenge of a token-authenticated registry", async () => {
    // A registry configured for token auth, and a token server signing JWTs with an x5c chain.
    const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "07",
      name: "CN=coco token signer",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    const tokenPort = await freePort();
    const regDir = mkdtempSync(join(tmpdir(), "coco-tokreg-"));
    writeFileSync(join(regDir, "bundle.pem"), cert.toString("pem"));
    const seenScopes: string[] = [];
    const server: Server = createServer(async (req, res) => {
      const u = new URL(req.url ?? "/", "http://x");
      const scope = u.searchParams.get("scope") ?? "";
      seenScopes.push(scope);
      const [, name = "", actions = ""] = scope.split(":");
      const token = await new SignJWT({
        access: [{ type: "repository", name, actions: actions.split(",") }],
      })
        .setProtectedHeader({ alg: "ES256", x5c: [Buffer.from(cert.rawData).toString("base64")] })
        .setIssuer("coco-test-issuer")
        .setAudience("coco-registry")
        .setSubject("anonymous")
        .setIssuedAt()
        .setNotBefore(Math.floor(Date.now() / 1000) - 60)
        .setExpirationTime("5m")
        .setJti(randomBytes(8).toString("hex"))
        .sign(keys.privateKey);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ token }));
    });
    await new Promise<void>((r) => server.listen(tokenPort, "127.0.0.1", r));
    const port = await freePort();
    writeFileSync(
      join(regDir, "config.yml"),
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(regDir, "storage")}`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "auth:",
        "  token:",
        `    realm: http://127.0.0.1:${tokenPort}/token`,
        "    service: coco-registry",
        "    issuer: coco-test-issuer",
        `    rootcertbundle: ${join(regDir, "bundle.pem")}`,
        "",
      ].join("\n"),
    );
    let proc: RunningProcess | undefined;
    try {
      proc = await startProcess({
        name: "docker-registry",
        command: REGISTRY_BIN,
        args: ["serve", join(regDir, "config.yml")],
        ready: { kind: "tcp", port },
      });
      // skopeo follows the same challenge to push.
      await skopeo([
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:v1`,
        `docker://127.0.0.1:${port}/coco/bearer:v1`,
      ]);
      const s = openImageSource(parseImageLocation(`127.0.0.1:${port}/coco/bearer:v1`), {
        tlsVerify: false,
      });
      const out = join(dir, "b-bearer");
      await pullImage({ ...s, bundleDir: out, verify: acceptAnything });
      s.source.close();
      assert.equal(readFileSync(join(out, "rootfs/app/hello.txt"), "utf8"), "hello registry\n");
      assert.ok(seenScopes.includes("repository:coco/bearer:pull"));
    } finally {
      await proc?.stop();
      server.close();
      rmSync(regDir, { recursive: true, force: true });
    }
  });
});
