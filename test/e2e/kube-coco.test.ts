// run-tests: timeout 12 min (a one-node cluster from source, Trustee, three confidential pods; about 3 min unloaded)
/**
 * A cluster user's path, end to end, on a real one-node cluster (etcd, kube-apiserver, kubelet
 * built from k8s.io/kubernetes, kubectl; no scheduler: pods set nodeName) whose kubelet uses a
 * containerd that `coco install containerd` configured, with the RuntimeClasses from `deploy/`
 * applied by kubectl. The pod's owner encrypts and cosign-signs the image (keys in Trustee),
 * seals the env secret, and runs `coco policy generate`; then `kubectl apply`. The guest pulls
 * and decrypts the image (no layer on the node), `kubectl logs` shows only the secret's digest,
 * `kubectl exec` runs the one command the policy allows and is refused otherwise, the pod ends
 * Failed with the container's exit code, and the same pod with init-data the host altered gets
 * nothing from Trustee: its events say why. `kubectl delete` leaves nothing on the node.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseDocument } from "yaml";
import { decodeInitDataAnnotation } from "../../src/protocol/agent/index.js";
import { NODE_NAME } from "../helpers/kube.js";
import {
  type CocoNode,
  kubeCocoSkip,
  prepareOwnerImage,
  startCocoNode,
  waitPod,
} from "../helpers/kube-coco.js";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const skip = kubeCocoSkip();
const SECRET = `kube-secret-${process.pid}`;
const INITDATA = "io.katacontainers.config.hypervisor.cc_init_data";

let node: CocoNode | undefined;
let trustee: TrusteeProcess | undefined;

before(
  async () => {
    if (skip) return;
    node = await startCocoNode({ controllerManager: false });
    trustee = await startTrusteeProcess(node.work);
  },
  { timeout: 600_000 },
);

after(async () => {
  await trustee?.stop();
  await node?.stop();
});

/** The owner's manifest (before `coco policy generate`). */
function manifest(name: string, image: string, sealed: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: coco-dev
  nodeName: ${NODE_NAME}
  restartPolicy: Never
  dnsPolicy: Default
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", ${JSON.stringify(
      'echo "sha256(SECRET) = $(printf %s "$SECRET" | sha256sum | cut -d" " -f1)"; while [ ! -e /tmp/done ]; do sleep 1; done; echo finishing; exit 3',
    )}]
    env:
    - name: SECRET
      value: ${JSON.stringify(sealed)}
`;
}

describe("kubectl: a confidential pod on a one-node cluster (coco-dev)", { skip }, () => {
  test("apply, guest pull of an encrypted signed image, sealed secret, logs, exec allowed and refused, exit code, events; altered init-data is refused; delete leaves nothing", {
    timeout: 600_000,
  }, async (t) => {
    const n = node!;
    const tr = trustee!;
    const k = n.k;
    const { encrypted, sealed, policyUri } = await prepareOwnerImage(n, tr, SECRET);
    // The owner's step: coco policy generate (the CLI), with the commands exec may run.
    const src = join(n.work, "pod.yaml");
    writeFileSync(src, manifest("confidential", encrypted, sealed));
    const generate = async (extra: string[]) =>
      n.coco([
        "policy",
        "generate",
        "--allow-logs",
        "--allow-exec",
        '["/bin/busybox","touch","/tmp/done"]',
        ...extra,
        "--trustee",
        tr.url,
        "--insecure-registry",
        n.registry.host,
        "--image-policy-uri",
        policyUri,
        src,
      ]);
    const good = await generate([]);
    // Its init-data digest (`coco policy digest`), pinned in Trustee's resource policy.
    writeFileSync(join(n.work, "pod.coco.yaml"), good);
    const digest = (
      JSON.parse(await n.coco(["policy", "digest", join(n.work, "pod.coco.yaml")])) as {
        base64: string;
      }
    ).base64;
    const annotation = (
      parseDocument(good).toJS() as { metadata: { annotations: Record<string, string> } }
    ).metadata.annotations[INITDATA]!;
    assert.equal(
      digest,
      createHash("sha256").update(decodeInitDataAnnotation(annotation)).digest("base64"),
    );
    await tr.pinInitData(digest);

    await k.kubectlOk(["apply", "-f", "-"], { input: good });
    const running = await waitPod(k, "confidential", (p) => {
      const st = p.status?.containerStatuses?.[0]?.state;
      if (st?.terminated) throw new Error(`the container ended: ${JSON.stringify(st)}`);
      return st?.running !== undefined ? true : undefined;
    });
    t.diagnostic(`pod running after ${running.ms} ms`);
    // kubectl logs: only the digest of the secret (the policy allows reading output).
    const expected = createHash("sha256").update(SECRET).digest("hex");
    let logs = "";
    for (let i = 0; i < 120 && !logs.includes("sha256(SECRET)"); i++) {
      logs = (await k.kubectl(["logs", "confidential"])).stdout;
      if (!logs.includes("sha256(SECRET)")) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(logs, `sha256(SECRET) = ${expected}\n`);
    // kubectl exec of a command the policy does not name: refused by the guest's policy.
    const denied = await k.kubectl(["exec", "confidential", "--", "cat", "/etc/shadow"], {
      timeoutMs: 120_000,
    });
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /ExecProcessRequest is blocked by policy/);
    // The one command it allows runs (and lets the container finish).
    const allowed = await k.kubectl(
      ["exec", "confidential", "--", "/bin/busybox", "touch", "/tmp/done"],
      {
        timeoutMs: 120_000,
      },
    );
    assert.equal(allowed.status, 0, allowed.stderr);
    const done = await waitPod(k, "confidential", (p) =>
      p.status?.phase === "Failed" || p.status?.phase === "Succeeded" ? true : undefined,
    );
    assert.equal(done.pod.status?.phase, "Failed");
    assert.equal(done.pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    // The container's last line before its exit reaches its log too (the shim drains the
    // output before it reports the exit).
    let last = "";
    for (let i = 0; i < 10 && !last.endsWith("finishing"); i++) {
      last = (await k.kubectlOk(["logs", "confidential"])).trim();
      if (!last.endsWith("finishing")) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(last, /finishing$/);
    const events = await k.kubectlOk([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=confidential",
      "-o",
      "jsonpath={range .items[*]}{.reason}{'\\n'}{end}",
    ]);
    for (const reason of ["Pulled", "Created", "Started"]) assert.match(events, new RegExp(reason));
    // Nothing secret reached the node: no layer of the image in containerd, no secret in logs.
    assert.ok(!n.h.output().includes(SECRET), "the secret never reached containerd");
    const manifestJson = (await (
      await fetch(`${n.registry.url}/v2/coco/busybox-enc/manifests/v1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { layers: { digest: string }[] };
    const content = await n.h.ctrOk(["content", "ls", "-q"]);
    for (const l of manifestJson.layers)
      assert.doesNotMatch(content, new RegExp(l.digest), "no layer blob of the image on the node");
    await k.kubectlOk(["delete", "pod", "confidential", "--wait=true", "--timeout=120s"]);

    // The host loosens the policy (exec of a shell allowed) in the pod's annotation: a valid
    // init-data with another digest; Trustee releases nothing, and the pod's events say so.
    const altered = await generate(["--allow-exec", '["/bin/sh"]']);
    await k.kubectlOk(["apply", "-f", "-"], { input: altered });
    const uid = (
      await k.kubectlOk(["get", "pod", "confidential", "-o", "jsonpath={.metadata.uid}"])
    ).trim();
    const refused = await waitPod(k, "confidential", async () => {
      const ev = await k.kubectlOk([
        "get",
        "events",
        "--field-selector",
        `involvedObject.uid=${uid},type=Warning`,
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{'\\n'}{end}",
      ]);
      return /PolicyDeny/.test(ev) ? ev : undefined;
    });
    t.diagnostic(`refused: ${refused.value}`);
    assert.match(
      refused.value,
      /^Failed: Error: failed to create containerd task: .*image pull of \S+ failed: .*KBS answered 401: PolicyDeny/m,
    );
    assert.notEqual(refused.pod.status?.phase, "Running");
    assert.ok(!refused.value.includes(SECRET));
    await k.kubectlOk(["delete", "pod", "confidential", "--wait=true", "--timeout=120s"]);

    // kubelet removed the sandboxes through the CRI; the shims and their state are gone.
    const deadline = Date.now() + 60_000;
    while ((await n.h.crictlOk(["pods", "-q"])).trim() !== "" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 500));
    assert.equal((await n.h.crictlOk(["pods", "-q"])).trim(), "");
    assert.equal((await n.h.crictlOk(["ps", "-a", "-q"])).trim(), "");
    while (n.h.shimPids().length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(n.h.shimPids(), []);
    const states = existsSync(n.shimState) ? readdirSync(n.shimState) : [];
    assert.deepEqual(states, [], "no pod state left in the shim's folder");
  });
});
