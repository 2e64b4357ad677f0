/**
 * `coco_keyprovider` over gRPC against our Trustee: a gRPC client sends WrapKey requests shaped
 * exactly as ocicrypt's Go keyprovider client sends them (containers/ocicrypt keyprovider.md:
 * JSON with `[]byte` members as standard base64), the key provider registers the KEK in
 * Trustee with an admin token signed by `--auth-private-key`, and the returned AnnotationPacket
 * unwraps, as CDH does, with the KEK fetched back from Trustee by the packet's `kid`.
 *
 * skopeo would be the natural peer, but Debian's skopeo 1.9.3 is built without ocicrypt's
 * keyprovider support ("Provided protocol not recognized"); see docs/interop.md.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { unwrapAnnotationPacket } from "../../src/oci/layer/kbs-annotation.js";
import { KEYPROVIDER_SERVICE, KeyProviderMessages } from "../../src/protocol/ttrpc/index.js";
import { repoRoot } from "../helpers/paths.js";
import { freePort } from "../helpers/ports.js";
import { type RunningProcess, startProcess } from "../helpers/process.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const exec = promisify(execFile);
const bin = join(repoRoot, "dist", "src", "cli", "bin");

type Call = (input: Buffer) => Promise<Buffer>;

/** A plain gRPC client for keyprovider.KeyProviderService/<method>. */
function keyproviderClient(address: string): { call(method: string): Call; close(): void } {
  const def = (name: string) => ({
    path: `/${KEYPROVIDER_SERVICE}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Buffer) =>
      Buffer.from(KeyProviderMessages.Input.encode({ KeyProviderKeyWrapProtocolInput: v })),
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v,
    responseDeserialize: (b: Buffer) =>
      Buffer.from(KeyProviderMessages.Output.decode(b).KeyProviderKeyWrapProtocolOutput),
  });
  const Ctor = grpc.makeGenericClientConstructor(
    { WrapKey: def("WrapKey"), UnWrapKey: def("UnWrapKey") },
    "KeyProviderService",
  );
  const client = new Ctor(address, grpc.credentials.createInsecure());
  return {
    call: (method) => (input) =>
      new Promise((resolve, reject) => {
        type Unary = (i: Buffer, cb: (e: Error | null, r?: Buffer) => void) => void;
        const fn = (client as unknown as Record<string, Unary>)[method] as Unary;
        fn.call(client, input, (e, r) => (e ? reject(e) : resolve(r as Buffer)));
      }),
    close: () => client.close(),
  };
}

/** The WrapKey input ocicrypt builds for `provider:attestation-agent:<params>`. */
function ocicryptWrapInput(params: string, optsdata: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      op: "keywrap",
      keywrapparams: {
        ec: {
          Parameters: { "attestation-agent": [Buffer.from(params).toString("base64")] },
          DecryptConfig: { Parameters: {} },
        },
        optsdata: optsdata.toString("base64"),
      },
      keyunwrapparams: { dc: null, annotation: null },
    }),
  );
}

describe("coco_keyprovider over gRPC with our Trustee", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyprovider-"));
  let trustee: TrusteeProcess | undefined;
  let kp: RunningProcess | undefined;
  let client: ReturnType<typeof keyproviderClient> | undefined;
  // The layer options ocicrypt wraps (PrivateLayerBlockCipherOptions JSON).
  const optsdata = Buffer.from(
    JSON.stringify({
      symkey: randomBytes(32).toString("base64"),
      cipheroptions: { nonce: randomBytes(16).toString("base64") },
      digest: "",
    }),
  );

  before(async () => {
    // Upstream's key provider signs issuer-less tokens: the identity provider names no issuer.
    trustee = await startTrusteeProcess(dir, { issuer: "" });
    await trustee.allowAllResources();
    const port = await freePort();
    kp = await startProcess({
      name: "coco_keyprovider",
      command: process.execPath,
      args: [
        join(bin, "coco-keyprovider.js"),
        "--socket",
        `127.0.0.1:${port}`,
        "--kbs",
        trustee.url,
        "--auth-private-key",
        join(dir, "admin.pem"),
      ],
      ready: { kind: "tcp", port },
      timeoutMs: 60_000,
    });
    client = keyproviderClient(`127.0.0.1:${port}`);
  });
  after(async () => {
    client?.close();
    await kp?.stop();
    await trustee?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const wrap = (params: string) =>
    (client as NonNullable<typeof client>).call("WrapKey")(ocicryptWrapInput(params, optsdata));

  /** The KEK as Trustee releases it to an attested client (`kbs-client get-resource`). */
  async function kekFromTrustee(uri: string): Promise<Buffer> {
    const path = uri.replace(/^kbs:\/\/[^/]*\//, "");
    const r = await exec(process.execPath, [
      join(bin, "kbs-client.js"),
      "--url",
      trustee?.url ?? "",
      "get-resource",
      "--path",
      path,
    ]);
    return Buffer.from(r.stdout.trim(), "base64");
  }

  function packetOf(out: Buffer): Buffer {
    const o = JSON.parse(out.toString("utf8")) as { keywrapresults: { annotation: number[] } };
    // serde's Vec<u8>: a JSON number array, as upstream answers.
    assert.ok(Array.isArray(o.keywrapresults.annotation));
    return Buffer.from(o.keywrapresults.annotation);
  }

  test("keyid + keypath: the KEK is registered in Trustee and the packet unwraps with it", async () => {
    const kek = randomBytes(32);
    writeFileSync(join(dir, "kek"), kek, { mode: 0o600 });
    const packet = packetOf(
      await wrap(`keyid=kbs:///default/image-kek/1::keypath=${join(dir, "kek")}`),
    );
    const p = JSON.parse(packet.toString("utf8"));
    assert.deepEqual(Object.keys(p), ["kid", "wrapped_data", "iv", "wrap_type"]);
    assert.equal(p.kid, "kbs:///default/image-kek/1");
    assert.equal(p.wrap_type, "A256GCM");
    assert.deepEqual(await kekFromTrustee(p.kid), kek);
    assert.deepEqual(Buffer.from(await unwrapAnnotationPacket(packet, kekFromTrustee)), optsdata);
  });

  test("no key given: a random KEK under kbs:///default/image-kek/<uuid>, registered and usable", async () => {
    const packet = packetOf(await wrap("sample=false"));
    const p = JSON.parse(packet.toString("utf8"));
    assert.match(p.kid, /^kbs:\/\/\/default\/image-kek\/[0-9a-f-]{36}$/);
    assert.deepEqual(Buffer.from(await unwrapAnnotationPacket(packet, kekFromTrustee)), optsdata);
  });

  test("refused parameters and bad input are INVALID_ARGUMENT with the reason", async () => {
    const cases: [Buffer, RegExp][] = [
      [ocicryptWrapInput("sample=true", optsdata), /sample=true uses upstream's publicly known/],
      [ocicryptWrapInput("algorithm=A256CTR", optsdata), /A256GCM only/],
      [ocicryptWrapInput("keyid=kbs:///a/b", optsdata), /repository>\/<type>\/<tag>/],
      [ocicryptWrapInput("colour=blue", optsdata), /unknown parameter "colour"/],
      [Buffer.from("{not json"), /input is not JSON/],
      [Buffer.from(JSON.stringify({ keywrapparams: {} })), /without optsdata/],
    ];
    writeFileSync(join(dir, "short"), randomBytes(16));
    cases.push([
      ocicryptWrapInput(`keypath=${join(dir, "short")}`, optsdata),
      /must be 32 bytes, found 16/,
    ]);
    for (const [input, re] of cases) {
      await assert.rejects(
        (client as NonNullable<typeof client>).call("WrapKey")(input),
        (e: Error & { code?: number }) => {
          assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
          assert.match(e.message, re);
          return true;
        },
      );
    }
  });

  test("UnWrapKey is UNIMPLEMENTED, as upstream (decryption happens in the guest)", async () => {
    await assert.rejects(
      (client as NonNullable<typeof client>).call("UnWrapKey")(Buffer.from("{}")),
      (e: Error & { code?: number }) => e.code === grpc.status.UNIMPLEMENTED,
    );
  });
});
