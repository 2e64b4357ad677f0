/**
 * Kubernetes node demo: a real containerd 2.x whose CRI runtime handler `coco-dev` runs our
 * `containerd-shim-coco-v2` and whose images go through the coco snapshotter, driven with crictl
 * exactly as kubelet drives it. The owner's image is encrypted (key in Trustee) and cosign-signed,
 * the pod's env secret is sealed, and the pod's policy and init-data come from `coco policy
 * generate`. The node pulls no layer, the container prints only the secret's digest, the host's
 * `crictl exec` is refused by the pod's policy, and the same pod with altered init-data gets
 * nothing from Trustee. Development sandbox (process): no confidentiality from this host.
 */
import { createHash } from "node:crypto";
import { guestConfigs } from "../src/host/genpolicy/guest-config.js";
import { decodeInitDataAnnotation } from "../src/protocol/agent/index.js";
import {
  assertPodGone,
  cocoCriSkip,
  makePod,
  runPod,
  startCocoCri,
  waitLogs,
} from "../test/helpers/coco-cri.js";
import { publishOwnerImage } from "../test/helpers/owner-image.js";
import { startTrusteeProcess } from "../test/helpers/trustee-process.js";

/** What the demo showed. */
export interface KubernetesDemoResult {
  logs: string;
  expectedDigest: string;
  execRefused: string;
  layersOnNode: number;
  alteredRefused: string;
}

/** Why the chapter cannot run here (not root, or containerd/crictl not installed), or false. */
export function kubernetesUnavailable(): string | false {
  return cocoCriSkip();
}

/** Runs the story; every line goes to `log`. Throws if any step fails. */
export async function demoKubernetes(log: (line: string) => void): Promise<KubernetesDemoResult> {
  const c = await startCocoCri({ snapshotter: true });
  const trustee = await startTrusteeProcess(c.work);
  try {
    log(
      `containerd ${c.h.address}: CRI handler coco-dev → io.containerd.coco.v2 (containerd-shim-coco-v2), snapshotter coco`,
    );
    log(`Trustee at ${trustee.url}; registry at ${c.registry.url}`);
    const image = `${c.registry.host}/coco/busybox-enc:v1`;
    await publishOwnerImage(trustee, {
      source: c.image,
      target: image,
      work: c.work,
      scope: c.registry.host,
    });
    const secret = `k8s-demo-secret-${Date.now()}`;
    const sealed = await trustee.sealSecret(
      "default/app/secret",
      secret,
      "default/sealing-key/app",
    );
    log(
      `owner: ${image} encrypted (key in Trustee) and cosign-signed; secret sealed: ${sealed.slice(0, 40)}…`,
    );
    const files = guestConfigs({
      trustee: trustee.url,
      insecureRegistries: [c.registry.host],
      imagePolicyUri: "kbs:///default/security-policy/app",
    });
    const script =
      'echo "inside the guest: sha256(SECRET) = $(printf %s "$SECRET" | sha256sum | cut -d" " -f1)"; while :; do sleep 1; done';
    const make = (allowExec?: string[][]) =>
      makePod(
        "k8s-demo",
        script,
        { allowLogs: true, initDataFiles: files, ...(allowExec ? { allowExec } : {}) },
        { env: [{ name: "SECRET", value: sealed }], image },
      );
    const pod = await make();
    const digest = createHash("sha256")
      .update(decodeInitDataAnnotation(pod.initData))
      .digest("base64");
    await trustee.pinInitData(digest);
    log(
      `owner: coco policy generate → init-data annotation on the pod; its digest ${Buffer.from(digest, "base64").toString("hex").slice(0, 16)}… pinned in Trustee`,
    );

    await c.h.crictlOk(["pull", "--pod-config", pod.podJson, pod.pinned], { timeoutMs: 240_000 });
    const t0 = performance.now();
    const { sid, cid } = await runPod(pod);
    const logs = (await waitLogs(cid, "sha256(SECRET)")).trim();
    log(
      `node: crictl runp --runtime coco-dev, create, start → first output after ${Math.round(performance.now() - t0)} ms`,
    );
    log(`node: crictl logs → ${JSON.stringify(logs)}`);
    const expectedDigest = createHash("sha256").update(secret).digest("hex");
    if (!logs.endsWith(expectedDigest))
      throw new Error("the container did not print the digest of the unsealed secret");
    if (c.h.output().includes(secret)) throw new Error("the secret reached containerd");
    log("owner: the digest matches sha256 of the secret; the plaintext never reached the node");
    const manifest = (await (
      await fetch(`${c.registry.url}/v2/coco/busybox-enc/manifests/v1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { layers: { digest: string }[] };
    const content = await c.h.ctrOk(["content", "ls", "-q"]);
    const layersOnNode = manifest.layers.filter((l) => content.includes(l.digest)).length;
    log(
      `node: ctr content ls → ${layersOnNode} of the image's ${manifest.layers.length} layer blob(s) on the node (the guest pulled and decrypted it)`,
    );
    if (layersOnNode !== 0) throw new Error("a layer blob reached containerd's content store");
    const ex = await c.h.crictl(["exec", cid, "/bin/sh", "-c", "echo $SECRET"], {
      timeoutMs: 60_000,
    });
    if (ex.status === 0) throw new Error("crictl exec was allowed");
    const execRefused =
      /ExecProcessRequest is blocked by policy[^"]*/.exec(ex.stderr)?.[0] ?? ex.stderr.trim();
    log(`node: crictl exec … echo $SECRET → ${execRefused}`);
    await c.h.crictlOk(["stopp", sid], { timeoutMs: 120_000 });
    await c.h.crictlOk(["rmp", sid], { timeoutMs: 120_000 });
    await assertPodGone(sid);
    log(
      "node: crictl stopp, rmp → no shim, sandbox process, folder, socket or mount of the pod left",
    );

    const altered = await make([["/bin/sh"]]);
    const sid2 = (
      await c.h.crictlOk(["runp", "--runtime", "coco-dev", altered.podJson], { timeoutMs: 240_000 })
    ).trim();
    const cid2 = (
      await c.h.crictlOk(["create", sid2, altered.ctrJson(), altered.podJson], {
        timeoutMs: 240_000,
      })
    ).trim();
    const bad = await c.h.crictl(["start", cid2], { timeoutMs: 240_000 });
    if (bad.status === 0) throw new Error("the pod with altered init-data started");
    const alteredRefused =
      /KBS answered 401: PolicyDeny[^"]*/.exec(bad.stderr)?.[0] ?? bad.stderr.trim();
    log(
      `node: the same pod with altered init-data (exec allowed) → crictl start fails: ${alteredRefused.slice(0, 140)}`,
    );
    await c.h.crictlOk(["rmp", "-f", sid2], { timeoutMs: 120_000 });
    await assertPodGone(sid2);
    return { logs, expectedDigest, execRefused, layersOnNode, alteredRefused };
  } finally {
    await trustee.stop();
    await c.stop();
  }
}
