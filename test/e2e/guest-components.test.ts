/**
 * Guest components end to end over loopback: Trustee (`coco trustee`), the Attestation Agent
 * (`coco aa run`), the Confidential Data Hub (`coco cdh run`) and the REST API
 * (`coco cdh api-server`) as real processes; resources, sealed secrets (vault, envelope),
 * keyprovider unwrap, init-data, token expiry, Trustee down, bad ttrpc frames.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createCipheriv, generateKeyPairSync, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { CompactSign } from "jose";
import { createTdxAttester } from "../../src/guest/aa/attester/tdx/tdx.js";
import { parseAaConfig } from "../../src/guest/aa/config.js";
import { startAttestationAgent } from "../../src/guest/aa/daemon.js";
import { createCcKbc } from "../../src/guest/cdh/kbc/cc-kbc.js";
import { parseResourceUri } from "../../src/protocol/resource-uri/index.js";
import {
  AA_SERVICE,
  AaMessages,
  CDH_SERVICES,
  CdhMessages,
  KEYPROVIDER_SERVICE,
  KeyProviderMessages,
  TtrpcClient,
} from "../../src/protocol/ttrpc/index.js";
import { repoRoot } from "../helpers/paths.js";
import { freePort } from "../helpers/ports.js";
import { type RunningProcess, startProcess } from "../helpers/process.js";
import { makeTestTls } from "../helpers/tls.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const run = promisify(execFile);
const coco = join(repoRoot, "dist", "src", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "guest-e2e-"));
const procs: RunningProcess[] = [];
let trustee: TrusteeProcess | undefined;
let kbsUrl = "";
let restUrl = "";
const aaSock = `unix://${join(dir, "aa.sock")}`;
const cdhSock = `unix://${join(dir, "cdh.sock")}`;
const resource = Buffer.from("resource bytes from Trustee \u0000\u00ff");
const kek = randomBytes(32);
const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
  format: "jwk",
});
const signingPublic = { kty: "EC", crv: "P-256", x: signing.x, y: signing.y };

async function cocoRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(process.execPath, [coco, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 4 << 20,
  });
  return r.stdout;
}

async function startDaemon(
  name: string,
  args: string[],
  sock: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningProcess> {
  const p = await startProcess({
    name,
    command: process.execPath,
    args: [coco, ...args],
    env: { ...process.env, ...env },
    ready: { kind: "file", path: sock.replace("unix://", "") },
  });
  procs.push(p);
  return p;
}

/** `coco secret seal` signed with `jwk` under `kid`; `spec` is the secret type and its options. */
async function cocoSeal(
  spec: string[],
  kid = "kbs:///default/sealing-key/1",
  jwk = join(dir, "signing.jwk"),
): Promise<string> {
  return (
    await cocoRun(["secret", "seal", "--signing-kid", kid, "--signing-jwk-path", jwk, ...spec])
  ).trim();
}

async function cdh<T>(fn: (c: TtrpcClient) => Promise<T>): Promise<T> {
  const c = new TtrpcClient(cdhSock, { timeoutMs: 30_000 });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const unseal = (secret: string) =>
  cdh((c) =>
    c.call(
      CDH_SERVICES.sealedSecret,
      "UnsealSecret",
      CdhMessages.UnsealSecretInput,
      CdhMessages.UnsealSecretOutput,
      {
        secret: Buffer.from(secret),
      },
    ),
  );

before(async () => {
  const t = await startTrusteeProcess(dir, { issuer: "coco-guest-test", tokenMinutes: 0.1 });
  trustee = t;
  kbsUrl = t.url;
  const put = (path: string, data: Uint8Array) => t.putResource(path, data);
  await t.allowAllResources();
  await put("default/key/1", resource);
  await put("default/kek/1", kek);
  await put("default/sealing-key/1", Buffer.from(JSON.stringify(signingPublic)));
  await put(
    "default/other/1",
    Buffer.from(
      JSON.stringify({
        kty: "EC",
        crv: "P-256",
        ...(() => {
          const j = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
            format: "jwk",
          });
          return { x: j.x, y: j.y };
        })(),
      }),
    ),
  );

  writeFileSync(join(dir, "aa.toml"), `[token_configs.kbs]\nurl = "${kbsUrl}"\n`);
  writeFileSync(
    join(dir, "initdata.toml"),
    'version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"note.txt" = "hello"\n',
  );
  await startDaemon(
    "aa",
    [
      "aa",
      "run",
      "-a",
      aaSock,
      "-c",
      join(dir, "aa.toml"),
      "-t",
      join(dir, "initdata.toml"),
      "--eventlog-dir",
      join(dir, "aael"),
    ],
    aaSock,
  );
  mkdirSync(join(dir, "cdh-base", "sealed-secret"), { recursive: true });
  writeFileSync(
    join(dir, "cdh.toml"),
    `socket = "${cdhSock}"\n[aa]\naa_socket = "${aaSock}"\n[kbc]\nname = "cc_kbc"\nurl = "${kbsUrl}"\n` +
      `[[credentials]]\nresource_uri = "kbs:///default/key/1"\npath = "${join(dir, "cdh-base", "kbs", "cred", "key1")}"\n`,
  );
  await startDaemon(
    "cdh",
    ["cdh", "run", "-c", join(dir, "cdh.toml"), "--base-dir", join(dir, "cdh-base")],
    cdhSock,
    {
      OCICRYPT_KEYPROVIDER_CONFIG: join(dir, "ocicrypt.json"),
    },
  );
  const restPort = await freePort();
  procs.push(
    await startProcess({
      name: "api-server",
      command: process.execPath,
      args: [
        coco,
        "cdh",
        "api-server",
        "--bind",
        `0.0.0.0:${restPort}`,
        "--features",
        "all",
        "--cdh_addr",
        cdhSock,
        "--aa_addr",
        aaSock,
      ],
      ready: { kind: "tcp", port: restPort },
    }),
  );
  restUrl = `http://127.0.0.1:${restPort}`;
});

after(async () => {
  for (const p of procs.reverse()) await p.stop();
  await trustee?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("guest components against our Trustee", () => {
  test("kbs-client attests with the sample attester and fetches a resource", async () => {
    const out = await cocoRun([
      "kbs-client",
      "--url",
      kbsUrl,
      "get-resource",
      "--path",
      "default/key/1",
    ]);
    assert.equal(Buffer.from(out.trim(), "base64").toString("hex"), resource.toString("hex"));
  });

  test("AA answers GetTeeType and hands out a token bound to init-data", async () => {
    const c = new TtrpcClient(aaSock);
    const tee = await c.call(
      AA_SERVICE,
      "GetTeeType",
      AaMessages.GetTeeTypeRequest,
      AaMessages.GetTeeTypeResponse,
      {},
    );
    assert.equal(tee.tee, "sample");
    const t = await c.call(
      AA_SERVICE,
      "GetToken",
      AaMessages.GetTokenRequest,
      AaMessages.GetTokenResponse,
      { TokenType: "kbs" },
    );
    c.close();
    const answer = JSON.parse(Buffer.from(t.Token).toString()) as {
      token: string;
      tee_keypair: string;
    };
    assert.match(answer.tee_keypair, /BEGIN PRIVATE KEY/);
    const claims = JSON.parse(
      Buffer.from(answer.token.split(".")[1] ?? "", "base64url").toString(),
    ) as {
      submods: { cpu0: { "ear.veraison.annotated-evidence": { init_data?: string } } };
    };
    const { createHash } = await import("node:crypto");
    assert.equal(
      claims.submods.cpu0["ear.veraison.annotated-evidence"].init_data,
      createHash("sha256")
        .update(readFileSync(join(dir, "initdata.toml")))
        .digest("base64"),
    );
  });

  test("CDH fetched its configured credentials at start, mode 0600", () => {
    const path = join(dir, "cdh-base", "kbs", "cred", "key1");
    assert.deepEqual(readFileSync(path), resource);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test("CDH GetResource over ttrpc goes through AA's token", async () => {
    const r = await cdh((c) =>
      c.call(
        CDH_SERVICES.getResource,
        "GetResource",
        CdhMessages.GetResourceRequest,
        CdhMessages.GetResourceResponse,
        {
          ResourcePath: "kbs:///default/key/1",
        },
      ),
    );
    assert.deepEqual(Buffer.from(r.Resource), resource);
    await assert.rejects(
      cdh((c) =>
        c.call(
          CDH_SERVICES.getResource,
          "GetResource",
          CdhMessages.GetResourceRequest,
          CdhMessages.GetResourceResponse,
          {
            ResourcePath: "kbs:///default/key/absent",
          },
        ),
      ),
      (e: Error & { grpcCode: number }) =>
        e.grpcCode === 13 && /\[CDH\] \[ERROR\]: Get Resource failed/.test(e.message),
    );
  });

  test("the REST API serves resources, evidence and info to loopback callers", async () => {
    const res = await fetch(`${restUrl}/cdh/resource/default/key/1`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), resource);
    const info = (await (await fetch(`${restUrl}/info`)).json()) as {
      tee: string;
      feature: string;
    };
    assert.equal(info.tee, "sample");
    assert.equal(info.feature, "all");
    const ev = (await (await fetch(`${restUrl}/aa/evidence?runtime_data=abc`)).json()) as {
      report_data: string;
    };
    assert.equal(ev.report_data, Buffer.from("abc").toString("base64"));
    assert.equal((await fetch(`${restUrl}/aa/evidence?runtime_data=abc&encoding=hex`)).status, 400);
    assert.equal((await fetch(`${restUrl}/nope`)).status, 404);
    const aael = await fetch(`${restUrl}/aa/aael`, {
      method: "POST",
      body: JSON.stringify({ domain: "d", operation: "o", content: "c" }),
    });
    assert.deepEqual(await aael.json(), {
      success: "false",
      message: "Attestation Agent does not enable eventlog recording",
    });
  });

  test("the REST API refuses callers that are not on loopback", async (t) => {
    const ip = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (!ip) {
      t.skip("no non-loopback IPv4 interface on this machine");
      return;
    }
    const port = new URL(restUrl).port;
    const res = await fetch(`http://${ip}:${port}/cdh/resource/default/key/1`);
    assert.equal(res.status, 403);
  });

  test("unseals a vault secret whose kid names a key in Trustee", async () => {
    writeFileSync(join(dir, "signing.jwk"), JSON.stringify(signing));
    const sealed = await cocoSeal(["vault", "--resource-uri", "kbs:///default/key/1"]);
    assert.match(sealed, /^sealed\./);
    assert.deepEqual(Buffer.from((await unseal(sealed)).plaintext), resource);
  });

  test("unseals an envelope secret (DEK wrapped under a KEK in Trustee)", async () => {
    writeFileSync(join(dir, "kek.bin"), kek);
    writeFileSync(join(dir, "plain.txt"), "envelope plaintext");
    const sealed = await cocoSeal([
      "envelope",
      "--key-id",
      "kbs:///default/kek/1",
      "--file-path",
      join(dir, "plain.txt"),
      "kbs",
      "--kek-path",
      join(dir, "kek.bin"),
    ]);
    assert.equal(Buffer.from((await unseal(sealed)).plaintext).toString(), "envelope plaintext");
  });

  test("refuses a secret signed by another key, a kid pointing elsewhere, a foreign alg and a tampered payload", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      format: "jwk",
    });
    writeFileSync(join(dir, "other.jwk"), JSON.stringify(other));
    const seal = (kid: string, jwk: string) =>
      cocoSeal(["vault", "--resource-uri", "kbs:///default/key/1"], kid, jwk);
    const expect = async (secret: string, code: string) =>
      assert.rejects(
        unseal(secret),
        (e: Error) => e.message.includes(code) || assert.fail(`${code} expected, got ${e.message}`),
      );
    await expect(
      await seal("kbs:///default/sealing-key/1", join(dir, "other.jwk")),
      "ERR_SEALED_SIGNATURE",
    );
    await expect(
      await seal("kbs:///default/other/1", join(dir, "signing.jwk")),
      "ERR_SEALED_SIGNATURE",
    );
    await expect(
      await seal("kbs:///default/key/1", join(dir, "signing.jwk")),
      "ERR_CDH_SECRET_KEY",
    );
    await expect(await seal("../../../etc/passwd", join(dir, "signing.jwk")), "ERR_CDH_SECRET_KEY");
    const hs = await new CompactSign(
      Buffer.from(
        JSON.stringify({
          version: "0.1.0",
          type: "vault",
          name: "kbs:///default/key/1",
          provider: "kbs",
          provider_settings: {},
          annotations: {},
        }),
      ),
    )
      .setProtectedHeader({ alg: "HS256", kid: "kbs:///default/sealing-key/1" })
      .sign(randomBytes(32));
    await expect(`sealed.${hs}`, "ERR_SEALED_ALG");
    const good = await seal("kbs:///default/sealing-key/1", join(dir, "signing.jwk"));
    const [p, h, payload, s] = good.split(".");
    const forged = Buffer.from(
      Buffer.from(payload ?? "", "base64url")
        .toString()
        .replace("key/1", "key/2"),
    ).toString("base64url");
    await expect([p, h, forged, s].join("."), "ERR_SEALED_SIGNATURE");
  });

  test("keyprovider UnWrapKey returns the layer key wrapped under the Trustee KEK", async () => {
    const layerKey = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", kek, iv);
    const wrapped = Buffer.concat([c.update(layerKey), c.final(), c.getAuthTag()]);
    const packet = {
      kid: "kbs:///default/kek/1",
      wrapped_data: wrapped.toString("base64"),
      iv: iv.toString("base64"),
      wrap_type: "A256GCM",
    };
    const input = {
      op: "keyunwrap",
      keywrapparams: {},
      keyunwrapparams: {
        dc: { Parameters: {} },
        annotation: Buffer.from(JSON.stringify(packet)).toString("base64"),
      },
    };
    const r = await cdh((cl) =>
      cl.call(
        KEYPROVIDER_SERVICE,
        "UnWrapKey",
        KeyProviderMessages.Input,
        KeyProviderMessages.Output,
        {
          KeyProviderKeyWrapProtocolInput: Buffer.from(JSON.stringify(input)),
        },
      ),
    );
    const out = JSON.parse(Buffer.from(r.KeyProviderKeyWrapProtocolOutput).toString()) as {
      keyunwrapresults: { optsdata: number[] };
    };
    assert.deepEqual(Buffer.from(out.keyunwrapresults.optsdata), layerKey);
    await assert.rejects(
      cdh((cl) => cl.callRaw(KEYPROVIDER_SERVICE, "WrapKey", new Uint8Array(0))),
      (e: Error & { grpcCode: number }) => e.grpcCode === 5,
    );
  });

  test("an expired token: Trustee answers 401, the client fetches one new token and succeeds", async () => {
    const kbc = createCcKbc({ kbsUrl, aaSocket: aaSock, expirySkewSec: 0 });
    try {
      const uri = parseResourceUri("kbs:///default/key/1");
      assert.deepEqual(Buffer.from(await kbc.getResource(uri)), resource);
      assert.deepEqual(Buffer.from(await kbc.getResource(uri)), resource);
      assert.equal(kbc.tokensFetched, 1, "a valid token is reused");
      await new Promise((r) => setTimeout(r, 6500));
      assert.deepEqual(Buffer.from(await kbc.getResource(uri)), resource);
      assert.equal(kbc.tokensFetched, 2, "exactly one new token after expiry");
    } finally {
      kbc.close();
    }
  });

  test("oversized and garbled ttrpc frames close the connection; AA keeps serving", async () => {
    for (const bytes of [Buffer.from("00500001000000010100", "hex"), randomBytes(200)]) {
      await new Promise<void>((resolve) => {
        const s = connect(aaSock.replace("unix://", ""));
        s.on("error", () => undefined);
        s.on("close", () => resolve());
        s.write(bytes);
        setTimeout(() => s.destroy(), 3000);
      });
    }
    const c = new TtrpcClient(aaSock);
    const r = await c.call(
      AA_SERVICE,
      "GetTeeType",
      AaMessages.GetTeeTypeRequest,
      AaMessages.GetTeeTypeResponse,
      {},
    );
    c.close();
    assert.equal(r.tee, "sample");
  });
});

describe("start-up and failure paths", () => {
  test("Trustee down: bounded retries, then a clear error", async () => {
    const dead = await freePort();
    const sock = `unix://${join(dir, "aa-dead.sock")}`;
    const aa = await startAttestationAgent({
      socket: sock,
      config: parseAaConfig(`[token_configs.kbs]\nurl = "http://127.0.0.1:${dead}"\n`),
      retry: { attempts: 3, delayMs: 100 },
    });
    try {
      const c = new TtrpcClient(sock);
      const t0 = Date.now();
      await assert.rejects(
        c.call(AA_SERVICE, "GetToken", AaMessages.GetTokenRequest, AaMessages.GetTokenResponse, {
          TokenType: "kbs",
        }),
        (e: Error) =>
          /ERR_KBS_CLIENT_UNREACHABLE/.test(e.message) && /after 3 attempts/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 10_000);
      c.close();
    } finally {
      await aa.close();
    }
  });

  test("init-data that does not match the TEE stops the AA before it listens", async () => {
    mkdirSync(join(dir, "tdx-m"), { recursive: true });
    writeFileSync(join(dir, "tdx-m", "mrconfigid"), Buffer.alloc(48, 1));
    const sock = join(dir, "aa-mismatch.sock");
    await assert.rejects(
      startAttestationAgent({
        socket: `unix://${sock}`,
        config: parseAaConfig(""),
        attester: createTdxAttester({ measurements: join(dir, "tdx-m") }),
        initDataToml: join(dir, "initdata.toml"),
      }),
      { code: "ERR_AA_INITDATA_MISMATCH" },
    );
    assert.equal(existsSync(sock), false);
  });
});

describe("https Trustee with a private CA", () => {
  test("kbs-client trusts the KBS root given with --cert-file, and refuses without it", async () => {
    const tls = await makeTestTls();
    const tdir = join(dir, "tls");
    mkdirSync(tdir, { recursive: true });
    writeFileSync(join(tdir, "ca.pem"), tls.caPem);
    writeFileSync(join(tdir, "cert.pem"), tls.certPem);
    writeFileSync(join(tdir, "key.pem"), tls.keyPem, { mode: 0o600 });
    const https = await startTrusteeProcess(tdir, {
      issuer: "coco-guest-test",
      tls: { key: join(tdir, "key.pem"), cert: join(tdir, "cert.pem"), ca: join(tdir, "ca.pem") },
    });
    try {
      const url = https.url;
      await https.allowAllResources();
      await https.putResource("default/tls/1", "over tls");
      const out = await cocoRun([
        "kbs-client",
        "--url",
        url,
        "--cert-file",
        join(tdir, "ca.pem"),
        "get-resource",
        "--path",
        "kbs:///default/tls/1",
      ]);
      assert.equal(Buffer.from(out.trim(), "base64").toString(), "over tls");
      await assert.rejects(
        cocoRun(["kbs-client", "--url", url, "get-resource", "--path", "default/tls/1"]),
        (e: Error & { stderr?: string }) => /ERR_KBS_CLIENT_UNREACHABLE/.test(e.stderr ?? ""),
      );
    } finally {
      await https.stop();
    }
  });
});
