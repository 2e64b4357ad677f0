// run-tests: timeout 12 min (a one-node cluster with its controller manager, Trustee, a 3-replica confidential Deployment; about 2 min unloaded)
/**
 * Replicas share one identity, on a real cluster: a Deployment of 3 confidential replicas
 * (coco-dev) created by the real Deployment and ReplicaSet controllers (kube-controller-manager
 * from source), whose one policy and init-data come from `coco policy generate` on the
 * Deployment. One init-data digest pinned in Trustee admits every replica: each pulls and
 * decrypts the encrypted, signed image in its guest and unseals the sealed secret, under the name
 * the ReplicaSet gave it. `kubectl delete deployment` leaves nothing on the node.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { NODE_NAME } from "../helpers/kube.js";
import {
  type CocoNode,
  kubeCocoSkip,
  prepareOwnerImage,
  startCocoNode,
} from "../helpers/kube-coco.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const skip = kubeCocoSkip();
const SECRET = `replica-secret-${process.pid}`;
const INITDATA = "io.katacontainers.config.hypervisor.cc_init_data";

let node: CocoNode | undefined;
let trustee: TrusteeProcess | undefined;

before(
  async () => {
    if (skip) return;
    node = await startCocoNode({ controllerManager: true });
    trustee = await startTrusteeProcess(node.work);
  },
  { timeout: 600_000 },
);

after(async () => {
  await trustee?.stop();
  await node?.stop();
});

interface PodList {
  items: {
    metadata: { name: string; annotations?: Record<string, string> };
    status?: {
      phase?: string;
      containerStatuses?: { state?: { running?: object; terminated?: object } }[];
    };
  }[];
}

describe("kubectl: a 3-replica confidential Deployment shares one init-data (coco-dev)", {
  skip,
}, () => {
  test("the controllers' replicas all run under the one pinned digest; delete leaves nothing", {
    timeout: 600_000,
  }, async (t) => {
    const n = node!;
    const tr = trustee!;
    const k = n.k;
    const { encrypted, sealed, policyUri } = await prepareOwnerImage(n, tr, SECRET);
    const src = join(n.work, "web.yaml");
    writeFileSync(
      src,
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      runtimeClassName: coco-dev
      nodeName: ${NODE_NAME}
      dnsPolicy: Default
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ${encrypted}
        command: ["/bin/sh", "-c", ${JSON.stringify(
          'echo "$HOSTNAME: sha256(SECRET) = $(printf %s "$SECRET" | sha256sum | cut -d" " -f1)"; sleep 3600',
        )}]
        env:
        - name: SECRET
          value: ${JSON.stringify(sealed)}
`,
    );
    const generated = join(n.work, "web.coco.yaml");
    writeFileSync(
      generated,
      await n.coco([
        "policy",
        "generate",
        "--allow-logs",
        "--trustee",
        tr.url,
        "--insecure-registry",
        n.registry.host,
        "--image-policy-uri",
        policyUri,
        src,
      ]),
    );
    const digest = (JSON.parse(await n.coco(["policy", "digest", generated])) as { base64: string })
      .base64;
    await tr.pinInitData(digest);
    await k.kubectlOk(["apply", "-f", generated]);

    // The ReplicaSet controller names and creates the pods; each must run.
    const t0 = Date.now();
    let pods: PodList["items"] = [];
    for (;;) {
      pods = (
        JSON.parse(await k.kubectlOk(["get", "pods", "-l", "app=web", "-o", "json"])) as PodList
      ).items;
      const running = pods.filter((p) => p.status?.containerStatuses?.[0]?.state?.running);
      const ended = pods.filter((p) => p.status?.containerStatuses?.[0]?.state?.terminated);
      assert.deepEqual(ended, [], "no replica's container ended");
      if (pods.length === 3 && running.length === 3) break;
      if (Date.now() - t0 > 300_000)
        assert.fail(
          `replicas not running after 300 s: ${JSON.stringify(pods.map((p) => p.status))}`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
    t.diagnostic(`3 replicas running after ${Date.now() - t0} ms`);
    const names = pods.map((p) => p.metadata.name);
    for (const name of names)
      assert.match(
        name,
        /^web-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
      );
    // One init-data for all: the template's annotation, unchanged, on every replica.
    const annotations = new Set(pods.map((p) => p.metadata.annotations?.[INITDATA]));
    assert.equal(annotations.size, 1);
    const expected = createHash("sha256").update(SECRET).digest("hex");
    for (const name of names) {
      let logs = "";
      for (let i = 0; i < 120 && !logs.includes("sha256(SECRET)"); i++) {
        logs = (await k.kubectl(["logs", name])).stdout;
        if (!logs.includes("sha256(SECRET)")) await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(logs, `${name}: sha256(SECRET) = ${expected}\n`);
    }
    assert.ok(!n.h.output().includes(SECRET), "the secret never reached containerd");

    await k.kubectlOk(["delete", "deployment", "web", "--wait=true", "--timeout=120s"]);
    const deadline = Date.now() + 180_000;
    const left = async () => ({
      pods: (await k.kubectlOk(["get", "pods", "-l", "app=web", "-o", "name"])).trim(),
      sandboxes: (await n.h.crictlOk(["pods", "-q"])).trim(),
      containers: (await n.h.crictlOk(["ps", "-a", "-q"])).trim(),
      shims: n.h.shimPids(),
    });
    let l = await left();
    while ((l.pods || l.sandboxes || l.containers || l.shims.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      l = await left();
    }
    assert.deepEqual(l, { pods: "", sandboxes: "", containers: "", shims: [] });
  });
});
