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
      () => parsePod(pod(`  restartPolicy: Always\n${one}`)),
      code("ERR_POD_UNSUPPORTED"),
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
});
