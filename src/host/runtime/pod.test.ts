import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePod } from "./pod.js";

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
const pod = (spec: string, meta = "  name: p\n") =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n${meta}spec:\n${spec}`;
const one = "  containers:\n  - name: app\n    image: r/x:1\n";

describe("pod manifest parser", () => {
  test("reads containers, env, volumes, probes, secrets in the same stream", () => {
    const p = parsePod(`${pod(`  runtimeClassName: coco-dev
  initContainers:
  - name: init
    image: r/x:1
  containers:
  - name: app
    image: r/x:1
    command: ["/bin/sh"]
    args: ["-c", "true"]
    env:
    - name: A
      value: "1"
    volumeMounts:
    - name: s
      mountPath: /s
    livenessProbe:
      exec:
        command: ["/bin/true"]
  volumes:
  - name: s
    secret:
      secretName: creds
`)}---
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  k: ${Buffer.from("v").toString("base64")}
`);
    assert.equal(p.runtimeClassName, "coco-dev");
    assert.deepEqual(p.containers[0]!.env, [{ name: "A", value: "1" }]);
    assert.deepEqual(p.containers[0]!.execCommands, [["/bin/true"]]);
    assert.deepEqual(
      p.initContainers.map((c) => c.name),
      ["init"],
    );
    assert.deepEqual(p.volumes[0], {
      name: "s",
      kind: "secret",
      source: "creds",
      items: { k: "v" },
    });
  });

  test("rejects garbage, truncated and oversized manifests", () => {
    assert.throws(() => parsePod("{{{{"), code("ERR_POD_MANIFEST"));
    assert.throws(() => parsePod(pod(one).slice(0, 40)), code("ERR_POD_MANIFEST"));
    assert.throws(() => parsePod(`${pod(one)}\n#${"x".repeat(1 << 20)}`), code("ERR_POD_MANIFEST"));
    assert.throws(() => parsePod("- just\n- a list\n"), code("ERR_POD_MANIFEST"));
    assert.throws(() => parsePod(""), code("ERR_POD_MANIFEST"));
  });

  test("refuses what it cannot honour faithfully", () => {
    assert.throws(() => parsePod(pod(`  hostNetwork: true\n${one}`)), code("ERR_POD_UNSUPPORTED"));
    assert.throws(
      () =>
        parsePod(
          pod(
            `${one}    env:\n    - name: A\n      valueFrom:\n        fieldRef:\n          fieldPath: x\n`,
          ),
        ),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod(pod(`${one}    securityContext:\n      privileged: true\n    ports: []\n`)),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod(pod(`${one}  volumes:\n  - name: h\n    hostPath:\n      path: /\n`)),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod("apiVersion: v1\nkind: Deployment\nmetadata:\n  name: d\n"),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod(pod(`  restartPolicy: Sometimes\n${one}`)),
      code("ERR_POD_MANIFEST"),
    );
    assert.throws(
      () => parsePod(pod(`${one}    securityContext:\n      privileged: true\n`)),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod(pod(`${one}    securityContext:\n      seLinuxOptions: {}\n`)),
      code("ERR_POD_UNSUPPORTED"),
    );
    assert.throws(
      () => parsePod(pod(`${one}    securityContext:\n      runAsNonRoot: true\n`)),
      code("ERR_POD_MANIFEST"),
    );
  });

  test("rejects invalid names, duplicates, unknown volumes and relative mount paths", () => {
    assert.throws(() => parsePod(pod(one, "  name: Bad_Name\n")), code("ERR_POD_MANIFEST"));
    assert.throws(
      () => parsePod(pod(`${one}  - name: app\n    image: r/x:1\n`)),
      code("ERR_POD_MANIFEST"),
    );
    assert.throws(
      () => parsePod(pod(`${one}    volumeMounts:\n    - name: nope\n      mountPath: /x\n`)),
      code("ERR_POD_MANIFEST"),
    );
    assert.throws(
      () =>
        parsePod(
          pod(
            `${one}    volumeMounts:\n    - name: v\n      mountPath: rel\n  volumes:\n  - name: v\n    emptyDir: {}\n`,
          ),
        ),
      code("ERR_POD_MANIFEST"),
    );
    assert.throws(() => parsePod(pod("  containers: []\n")), code("ERR_POD_MANIFEST"));
    assert.throws(
      () =>
        parsePod(pod(`${one}  volumes:\n  - name: s\n    secret:\n      secretName: missing\n`)),
      code("ERR_POD_MANIFEST"),
    );
  });

  test("refuses YAML alias bombs", () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nkind: Pod\n`;
    assert.throws(
      () => parsePod(bomb),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_POD_MANIFEST" && /alias/.test(e.message ?? ""),
    );
  });

  test("accepts every restartPolicy Kubernetes knows; the default stays Never", () => {
    for (const rp of ["Never", "OnFailure", "Always"] as const)
      assert.equal(parsePod(pod(`  restartPolicy: ${rp}\n${one}`)).restartPolicy, rp);
    assert.equal(parsePod(pod(one)).restartPolicy, "Never");
  });

  test("reads cpu and memory quantities as kubelet does", () => {
    const res = (r: string) => parsePod(pod(`${one}    resources:\n${r}`)).containers[0]!.resources;
    assert.deepEqual(res("      limits: {cpu: 500m, memory: 64Mi}\n"), {
      cpuLimitMilli: 500,
      cpuRequestMilli: 500,
      memoryLimit: 64 * 2 ** 20,
      memoryRequest: 64 * 2 ** 20,
    });
    assert.deepEqual(res('      requests: {cpu: "0.25", memory: 1G}\n'), {
      cpuRequestMilli: 250,
      memoryRequest: 1e9,
    });
    assert.deepEqual(res("      limits: {cpu: 2, memory: 1e6}\n"), {
      cpuLimitMilli: 2000,
      cpuRequestMilli: 2000,
      memoryLimit: 1e6,
      memoryRequest: 1e6,
    });
    assert.deepEqual(res("      limits: {cpu: 1.0001}\n").cpuLimitMilli, 1001, "rounded up");
    for (const bad of ["lots", "-1", "1Qi", "1..2", "", "1e999", "9".repeat(70), "[1]"]) {
      assert.throws(
        () => res(`      limits: {memory: ${JSON.stringify(bad)}}\n`),
        code("ERR_POD_MANIFEST"),
        bad,
      );
    }
    assert.throws(
      () => res("      limits: {memory: 2Pi}\n"),
      code("ERR_POD_MANIFEST"),
      "too large",
    );
    assert.throws(
      () => res("      limits: {cpu: 1}\n      requests: {cpu: 2}\n"),
      code("ERR_POD_MANIFEST"),
      "request above limit",
    );
    assert.throws(() => res("      limits: {hugepages-2Mi: 1Gi}\n"), code("ERR_POD_UNSUPPORTED"));
    assert.throws(() => res("      claims: []\n"), code("ERR_POD_UNSUPPORTED"));
  });
});
