/**
 * Guest demo: a workload inside a (sample) TEE reads a resource and a sealed secret through
 * the REST API at 127.0.0.1 (api-server-rest), which asks CDH, which asks AA for a token from
 * Trustee. Everything runs as separate `coco` processes on loopback.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CDH_SERVICES, CdhMessages, TtrpcClient } from "../src/protocol/ttrpc/index.js";
import { startGuestStack } from "./guest-stack.js";

/** What the demo showed. */
export interface GuestDemoResult {
  resource: string;
  unsealed: string;
  tee: string;
}

/** Runs the guest story; every line goes to `log`. Throws if any step fails. */
export async function demoGuest(log: (line: string) => void): Promise<GuestDemoResult> {
  const stack = await startGuestStack({ rest: true, log: (l) => log(`  ${l}`) });
  try {
    log(`Trustee at ${stack.kbsUrl}; AA, CDH and the REST API are running as separate processes`);
    await stack.putResource(
      "default/app/config",
      Buffer.from("db_password=correct-horse-battery-staple"),
    );
    const signing = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      format: "jwk",
    });
    await stack.putResource(
      "default/sealing-key/1",
      Buffer.from(JSON.stringify({ kty: "EC", crv: "P-256", x: signing.x, y: signing.y })),
    );
    await stack.putResource("default/app/api-key", Buffer.from("sk-live-42"));
    writeFileSync(join(stack.dir, "signing.jwk"), JSON.stringify(signing), { mode: 0o600 });
    const sealed = (
      await stack.coco([
        "secret",
        "seal",
        "--signing-kid",
        "kbs:///default/sealing-key/1",
        "--signing-jwk-path",
        join(stack.dir, "signing.jwk"),
        "vault",
        "--resource-uri",
        "kbs:///default/app/api-key",
      ])
    ).trim();
    log(`owner sealed a secret: ${sealed.slice(0, 48)}… (${sealed.length} chars, signed ES256)`);

    const rest = stack.restUrl as string;
    const info = (await (await fetch(`${rest}/info`)).json()) as { tee: string };
    log(`workload: GET ${rest}/info → tee=${info.tee}`);
    const res = await fetch(`${rest}/cdh/resource/default/app/config`);
    if (res.status !== 200)
      throw new Error(`resource fetch failed: ${res.status} ${await res.text()}`);
    const resource = await res.text();
    log(`workload: GET /cdh/resource/default/app/config → "${resource}"`);

    const c = new TtrpcClient(Object.values(stack.cdhSockets)[0] as string);
    const out = await c.call(
      CDH_SERVICES.sealedSecret,
      "UnsealSecret",
      CdhMessages.UnsealSecretInput,
      CdhMessages.UnsealSecretOutput,
      {
        secret: Buffer.from(sealed),
      },
    );
    c.close();
    const unsealed = Buffer.from(out.plaintext).toString();
    log(`agent: UnsealSecret(sealed env var) over ttrpc → "${unsealed}"`);
    return { resource, unsealed, tee: info.tee };
  } finally {
    await stack.stop();
  }
}
