/**
 * Trustee demo: start `coco trustee` as a child process, store a secret, a resource policy and
 * reference values through the admin API, attest with the sample TEE using the guest
 * components' RCAR client, print the released secret and the EAR verdict, then show a denial
 * and the reason Trustee gives for it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSampleAttester } from "../src/guest/aa/attester/sample/sample.js";
import { createRcarClient } from "../src/guest/aa/kbs-client/rcar.js";
import { parseResourceUri } from "../src/protocol/resource-uri/index.js";
import {
  RESOURCE_POLICY_AFFIRMING,
  RESOURCE_POLICY_DEFAULT,
} from "../src/trustee/as/policy/default-policies.js";
import { startTrusteeProcess } from "../test/helpers/trustee-process.js";

/** What the demo showed. */
export interface TrusteeDemoResult {
  secret: string;
  earStatus: string;
  denial: { status: number; type: string; detail: string };
}

/** Runs the Trustee story; every line goes to `log`. Throws if a step does not behave. */
export async function demoTrustee(log: (line: string) => void): Promise<TrusteeDemoResult> {
  const dir = mkdtempSync(join(tmpdir(), "coco-demo-trustee-"));
  const trustee = await startTrusteeProcess(dir, { issuer: "coco-demo" });
  const url = trustee.url;
  try {
    log(`Trustee (KBS + AS + RVPS) listening on ${url}, pid ${trustee.pid}`);
    const token = readFileSync(trustee.adminTokenFile, "utf8").trim();
    const adminCall = async (method: string, path: string, body: string, type: string) => {
      const res = await fetch(`${url}${path}`, {
        method,
        body,
        headers: { authorization: `Bearer ${token}`, "content-type": type },
      });
      if (res.status !== 200)
        throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    const secret = "image-decryption-key: 7f3a9c…(32 bytes)";
    await adminCall(
      "POST",
      "/kbs/v0/resource/default/image-key/1",
      secret,
      "application/octet-stream",
    );
    log("admin: stored resource default/image-key/1");
    const rv = { svn: ["1"], launch_digest: ["abcde"], major_version: 1, minimum_minor_version: 0 };
    await adminCall(
      "POST",
      "/kbs/v0/reference-value",
      JSON.stringify({
        version: "0.1.0",
        type: "sample",
        payload: Buffer.from(JSON.stringify(rv)).toString("base64"),
      }),
      "application/json",
    );
    log(`admin: registered sample reference values ${Object.keys(rv).join(", ")}`);
    const policy = (text: string) =>
      JSON.stringify({ policy: Buffer.from(text).toString("base64url") });
    await adminCall(
      "POST",
      "/kbs/v0/resource-policy",
      policy(RESOURCE_POLICY_AFFIRMING),
      "application/json",
    );
    log("admin: resource policy = release only to tokens whose every submod is affirming");

    const client = createRcarClient({
      url,
      attester: createSampleAttester(),
      retry: { attempts: 1, delayMs: 0 },
    });
    try {
      const got = await client.getResource(parseResourceUri("kbs:///default/image-key/1"));
      const released = new TextDecoder().decode(got);
      log(
        `guest (sample TEE): RCAR handshake done, resource released and decrypted: "${released}"`,
      );
      const claims = JSON.parse(
        Buffer.from((await client.getToken()).content.split(".")[1] ?? "", "base64url").toString(),
      ) as { submods: Record<string, Record<string, unknown>> };
      const cpu0 = claims.submods.cpu0 ?? {};
      const earStatus = String(cpu0["ear.status"]);
      log(
        `EAR verdict: submods.cpu0 ear.status = ${earStatus}, trust vector ${JSON.stringify(cpu0["ear.trustworthiness-vector"])}`,
      );

      await adminCall(
        "POST",
        "/kbs/v0/resource-policy",
        policy(RESOURCE_POLICY_DEFAULT),
        "application/json",
      );
      log("admin: resource policy back to upstream's default (refuses the sample TEE)");
      const denied = await fetch(`${url}/kbs/v0/resource/default/image-key/1`, {
        headers: { authorization: `Bearer ${(await client.getToken()).content}` },
      });
      const info = (await denied.json()) as { type: string; detail: string };
      log(
        `guest: GET again -> HTTP ${denied.status} ${info.type.split("/").pop()}: ${info.detail}`,
      );
      if (denied.status !== 401 || released !== secret)
        throw new Error("demo did not behave as expected");
      return { secret: released, earStatus, denial: { status: denied.status, ...info } };
    } finally {
      client.close();
    }
  } finally {
    await trustee.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await demoTrustee((l) => console.log(l));
}
