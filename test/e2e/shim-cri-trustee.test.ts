/**
 * A confidential pod through containerd's CRI, the coco snapshotter and our shim, against our
 * Trustee (a real process): the image is encrypted with a Trustee-held key and cosign-signed (its
 * signature policy comes from Trustee), the env secret is sealed, and the container prints only
 * the secret's digest; containerd's content store never holds a layer of the image. The same pod
 * with init-data the host altered attests with another digest and gets nothing. crictl drives
 * the CRI as kubelet does; the policy is what `coco policy generate` writes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { guestConfigs } from "../../src/host/genpolicy/guest-config.js";
import { decodeInitDataAnnotation } from "../../src/protocol/agent/index.js";
import {
  assertPodGone,
  type CocoCri,
  cocoCriSkip,
  makePod,
  runPod,
  startCocoCri,
  waitLogs,
  waitState,
} from "../helpers/coco-cri.js";
import { publishOwnerImage } from "../helpers/owner-image.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const skip = cocoCriSkip();
let c: CocoCri | undefined;
let trustee: TrusteeProcess | undefined;
let sealed = "";
let encrypted = "";
const SECRET = `cri-secret-${process.pid}`;

before(async () => {
  if (skip) return;
  c = await startCocoCri({ snapshotter: true });
  trustee = await startTrusteeProcess(c.work);
  encrypted = `${c.registry.host}/coco/busybox-enc:v1`;
  await publishOwnerImage(trustee, {
    source: c.image,
    target: encrypted,
    work: c.work,
    scope: c.registry.host,
  });
  sealed = await trustee.sealSecret("default/app/secret", SECRET, "default/sealing-key/app");
});

after(async () => {
  await trustee?.stop();
  await c?.stop();
});

const SCRIPT =
  'echo "sha256(SECRET) = $(printf %s "$SECRET" | sha256sum | cut -d" " -f1)"; sleep 1';

async function pod(name: string, allowExec?: string[][]) {
  const files = guestConfigs({
    trustee: trustee!.url,
    insecureRegistries: [c!.registry.host],
    imagePolicyUri: "kbs:///default/security-policy/app",
  });
  const p = await makePod(
    name,
    SCRIPT,
    { allowLogs: true, initDataFiles: files, ...(allowExec ? { allowExec } : {}) },
    { env: [{ name: "SECRET", value: sealed }], image: encrypted },
  );
  const digest = createHash("sha256").update(decodeInitDataAnnotation(p.initData)).digest("base64");
  return { p, digest };
}

describe("a confidential pod through the CRI against Trustee", { timeout: 1_200_000 }, () => {
  test("encrypted signed image, sealed env secret: only the secret's digest reaches crictl logs, no layer reaches containerd; altered init-data gets nothing", async (t) => {
    if (skip) return t.skip(skip);
    const good = await pod("cri-sealed");
    await trustee!.pinInitData(good.digest);
    // The image is pulled for the coco-dev handler: through the coco snapshotter (guest pull).
    await c!.h.crictlOk(["pull", "--pod-config", good.p.podJson, good.p.pinned], {
      timeoutMs: 240_000,
    });
    const { sid, cid } = await runPod(good.p);
    const expected = createHash("sha256").update(SECRET).digest("hex");
    const logs = await waitLogs(cid, "sha256(SECRET)");
    assert.equal(logs.trim(), `sha256(SECRET) = ${expected}`);
    assert.equal((await waitState(cid, "CONTAINER_EXITED")).exitCode, 0);
    assert.ok(!c!.h.output().includes(SECRET), "the secret never reached containerd");
    const manifest = (await (
      await fetch(`${c!.registry.url}/v2/coco/busybox-enc/manifests/v1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { layers: { digest: string }[] };
    const content = await c!.h.ctrOk(["content", "ls", "-q"]);
    for (const l of manifest.layers)
      assert.doesNotMatch(
        content,
        new RegExp(l.digest),
        "no layer blob of the image is on the node",
      );
    await c!.h.crictlOk(["rmp", "-f", sid], { timeoutMs: 120_000 });
    await assertPodGone(sid);

    // The host loosens the policy (exec allowed): valid init-data, another digest, no key.
    const altered = await pod("cri-sealed", [["/bin/sh"]]);
    assert.notEqual(altered.digest, good.digest);
    const sid2 = (
      await c!.h.crictlOk(["runp", "--runtime", "coco-dev", altered.p.podJson], {
        timeoutMs: 240_000,
      })
    ).trim();
    const cid2 = (
      await c!.h.crictlOk(["create", sid2, altered.p.ctrJson(), altered.p.podJson], {
        timeoutMs: 240_000,
      })
    ).trim();
    const r = await c!.h.crictl(["start", cid2], { timeoutMs: 240_000 });
    assert.notEqual(r.status, 0);
    // Trustee refuses the pod at its first request (the image signature policy, then the key).
    assert.match(r.stderr, /KBS answered 401: PolicyDeny/);
    assert.ok(!(r.stderr + r.stdout).includes(SECRET));
    await c!.h.crictlOk(["rmp", "-f", sid2], { timeoutMs: 120_000 });
    await assertPodGone(sid2);
  });
});
