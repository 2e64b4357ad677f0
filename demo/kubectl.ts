/**
 * kubectl demo: a cluster user's path on a real one-node cluster (etcd, kube-apiserver and
 * kubelet built from k8s.io/kubernetes, kubectl; no scheduler, the pod names its node) whose
 * containerd was set up by `coco install containerd`, with the RuntimeClasses of `deploy/`. The
 * owner encrypts and signs the image, seals the env secret, runs `coco policy generate` and pins
 * the init-data digest in Trustee; `kubectl apply` runs the pod with `runtimeClassName: coco-dev`,
 * `kubectl logs` shows only the secret's digest, `kubectl exec` is refused by the pod's policy,
 * and the same pod with altered init-data gets nothing: its events say why. Development sandbox
 * (process): no confidentiality from this host.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODE_NAME } from "../test/helpers/kube.js";
import {
  kubeCocoSkip,
  prepareOwnerImage,
  startCocoNode,
  waitPod,
} from "../test/helpers/kube-coco.js";
import { startTrusteeProcess } from "../test/helpers/trustee-process.js";

/** What the demo showed. */
export interface KubectlDemoResult {
  logs: string;
  expectedDigest: string;
  execRefused: string;
  phase: string;
  alteredEvent: string;
}

/** Why the chapter cannot run here (not root, or a cluster binary missing), or false. */
export function kubectlUnavailable(): string | false {
  return kubeCocoSkip();
}

/** Runs the story; every line goes to `log`. Throws if any step fails. */
export async function demoKubectl(log: (line: string) => void): Promise<KubectlDemoResult> {
  const n = await startCocoNode({ controllerManager: false });
  const trustee = await startTrusteeProcess(n.work).catch(async (err) => {
    await n.stop();
    throw err;
  });
  try {
    const k = n.k;
    const version = JSON.parse(await k.kubectlOk(["version", "-o", "json"])) as {
      serverVersion: { gitVersion: string };
    };
    log(
      `cluster: etcd, kube-apiserver ${version.serverVersion.gitVersion} and kubelet on 127.0.0.1, node ${NODE_NAME} Ready in ${n.timings.cluster} ms`,
    );
    log(
      "node: coco install containerd (shim, coco-snapshotter, drop-in); kubectl apply -f deploy/runtimeclasses.yaml",
    );
    log(
      `RuntimeClasses: ${(await k.kubectlOk(["get", "runtimeclass", "-o", "name"])).trim().split("\n").join(", ")}`,
    );
    const secret = `kubectl-demo-secret-${Date.now()}`;
    const { encrypted, sealed, policyUri } = await prepareOwnerImage(n, trustee, secret);
    log(`owner: ${encrypted} encrypted (key in Trustee) and cosign-signed; secret sealed`);
    const src = join(n.work, "pod.yaml");
    writeFileSync(
      src,
      `apiVersion: v1
kind: Pod
metadata:
  name: confidential
spec:
  runtimeClassName: coco-dev
  nodeName: ${NODE_NAME}
  restartPolicy: Never
  dnsPolicy: Default
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${encrypted}
    command: ["/bin/sh", "-c", ${JSON.stringify(
      'echo "inside the guest: sha256(SECRET) = $(printf %s "$SECRET" | sha256sum | cut -d" " -f1)"; while [ ! -e /tmp/done ]; do sleep 1; done',
    )}]
    env:
    - name: SECRET
      value: ${JSON.stringify(sealed)}
`,
    );
    const generate = (extra: string[]) =>
      n.coco([
        "policy",
        "generate",
        "--allow-logs",
        "--allow-exec",
        '["/bin/busybox","touch","/tmp/done"]',
        ...extra,
        "--trustee",
        trustee.url,
        "--insecure-registry",
        n.registry.host,
        "--image-policy-uri",
        policyUri,
        src,
      ]);
    const good = join(n.work, "pod.coco.yaml");
    writeFileSync(good, await generate([]));
    const digest = (JSON.parse(await n.coco(["policy", "digest", good])) as { hex: string }).hex;
    await trustee.pinInitData(Buffer.from(digest, "hex").toString("base64"));
    log(
      `owner: coco policy generate; its init-data digest ${digest.slice(0, 16)}… pinned in Trustee`,
    );

    const t0 = performance.now();
    await k.kubectlOk(["apply", "-f", good]);
    await waitPod(k, "confidential", (p) => {
      const st = p.status?.containerStatuses?.[0]?.state;
      if (st?.terminated && st.terminated.exitCode !== 0)
        throw new Error(`the container failed: ${JSON.stringify(st)}`);
      return st?.running || st?.terminated ? true : undefined;
    });
    log(
      `user: kubectl apply -f pod.coco.yaml → running after ${Math.round(performance.now() - t0)} ms`,
    );
    let logs = "";
    for (let i = 0; i < 120 && !logs.includes("sha256(SECRET)"); i++) {
      logs = (await k.kubectl(["logs", "confidential"])).stdout.trim();
      if (!logs.includes("sha256(SECRET)")) await new Promise((r) => setTimeout(r, 500));
    }
    log(`user: kubectl logs confidential → ${JSON.stringify(logs)}`);
    const expectedDigest = createHash("sha256").update(secret).digest("hex");
    if (!logs.endsWith(expectedDigest))
      throw new Error("the container did not print the digest of the unsealed secret");
    if (n.h.output().includes(secret)) throw new Error("the secret reached containerd");
    const ex = await k.kubectl(["exec", "confidential", "--", "/bin/sh", "-c", "echo $SECRET"], {
      timeoutMs: 120_000,
    });
    if (ex.status === 0) throw new Error("kubectl exec was allowed");
    const execRefused =
      /ExecProcessRequest is blocked by policy[^"\n]*/.exec(ex.stderr)?.[0] ?? ex.stderr.trim();
    log(`user: kubectl exec confidential -- sh -c 'echo $SECRET' → ${execRefused}`);
    await k.kubectlOk(["exec", "confidential", "--", "/bin/busybox", "touch", "/tmp/done"], {
      timeoutMs: 120_000,
    });
    log(
      "user: kubectl exec confidential -- /bin/busybox touch /tmp/done → allowed (the policy names it); the container ends",
    );
    const done = await waitPod(k, "confidential", (p) =>
      p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p.status.phase : undefined,
    );
    log(
      `user: kubectl get pod → ${done.value}, exit code ${done.pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode}`,
    );
    await k.kubectlOk(["delete", "pod", "confidential", "--wait=true", "--timeout=120s"]);

    writeFileSync(good, await generate(["--allow-exec", '["/bin/sh"]']));
    await k.kubectlOk(["apply", "-f", good]);
    const uid = (
      await k.kubectlOk(["get", "pod", "confidential", "-o", "jsonpath={.metadata.uid}"])
    ).trim();
    const ev = await waitPod(k, "confidential", async () => {
      const text = await k.kubectlOk([
        "get",
        "events",
        "--field-selector",
        `involvedObject.uid=${uid},type=Warning`,
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{'\\n'}{end}",
      ]);
      return /PolicyDeny/.test(text) ? text : undefined;
    });
    const alteredEvent = /^Failed: .*PolicyDeny.*$/m.exec(ev.value)?.[0] ?? ev.value.trim();
    log(
      `user: the same pod with altered init-data (exec of a shell allowed) → event ${alteredEvent.slice(0, 60)}…${alteredEvent.slice(alteredEvent.indexOf("KBS answered"), alteredEvent.indexOf("KBS answered") + 60)}`,
    );
    await k.kubectlOk(["delete", "pod", "confidential", "--wait=true", "--timeout=120s"]);
    return { logs, expectedDigest, execRefused, phase: done.value, alteredEvent };
  } finally {
    await trustee.stop();
    await n.stop();
  }
}
