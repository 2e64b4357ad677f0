import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeInitDataAnnotation } from "../../protocol/agent/index.js";
import { insecureRegistriesOf, sandboxInitData } from "./pod-shim.js";
import { type BundleSpec, parseBundleSpec, toCreateContainerRequest } from "./spec.js";

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
const SID = "a".repeat(64);
const CID = "b".repeat(64);
const IMAGE = "127.0.0.1:5000/app@sha256:" + "c".repeat(64);

/** A container spec shaped as containerd 2.4's CRI plugin writes it (fields trimmed). */
function criSpec(): BundleSpec {
  return {
    ociVersion: "1.3.0",
    process: {
      user: { uid: 0, gid: 0, additionalGids: [0] },
      args: ["/bin/sh", "-c", "echo hi"],
      env: ["PATH=/bin", "HOSTNAME=pod"],
      cwd: "/",
      capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
      apparmorProfile: "cri-containerd.apparmor.d",
      oomScoreAdj: 1000,
    },
    root: { path: "rootfs" },
    mounts: [
      {
        destination: "/proc",
        type: "proc",
        source: "proc",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/etc/hosts",
        type: "bind",
        source: "/var/lib/c/sandboxes/x/hosts",
        options: ["rbind", "rprivate", "rw"],
      },
      {
        destination: "/etc/resolv.conf",
        type: "bind",
        source: "/var/lib/c/x/resolv.conf",
        options: ["rbind", "rprivate", "rw"],
      },
      {
        destination: "/dev/shm",
        type: "bind",
        source: "/run/c/sandboxes/x/shm",
        options: ["rbind", "rprivate", "rw"],
      },
      {
        destination: "/data",
        type: "bind",
        source: "/host/data",
        options: ["rbind", "rprivate", "rw"],
      },
    ],
    annotations: {
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.container-name": "app",
      "io.kubernetes.cri.image-name": IMAGE,
      "io.kubernetes.cri.sandbox-id": SID,
      "io.kubernetes.cri.sandbox-name": "pod",
      "io.kubernetes.cri.sandbox-namespace": "default",
      "io.kubernetes.cri.sandbox-uid": "u1",
      "io.katacontainers.config.hypervisor.cc_init_data": "xyz",
    },
    linux: {
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        memory: { limit: 67108864 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1" },
      },
      cgroupsPath: "/kubepods/x",
      namespaces: [
        { type: "pid" },
        { type: "ipc", path: "/proc/42/ns/ipc" },
        { type: "uts", path: "/proc/42/ns/uts" },
        { type: "mount" },
        { type: "network", path: "/var/run/netns/cni-1" },
      ],
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
    },
  } as BundleSpec;
}

describe("containerd bundle → agent CreateContainerRequest", () => {
  test("guest pull of the CRI image, OCI root in the guest, host-only details left out", () => {
    const r = toCreateContainerRequest(criSpec(), { containerId: CID, sandboxId: SID });
    const rootfs = `/run/kata-containers/${CID}/rootfs`;
    assert.deepEqual(r.storages, [
      {
        driver: "image_guest_pull",
        driverOptions: [],
        source: IMAGE,
        fstype: "overlay",
        options: [],
        mountPoint: rootfs,
        shared: false,
      },
    ]);
    const oci = r.OCI!;
    assert.equal(oci.Root?.Path, rootfs);
    assert.deepEqual(oci.Process?.Args, ["/bin/sh", "-c", "echo hi"]);
    assert.deepEqual(oci.Process?.User?.AdditionalGids, [0]);
    assert.equal(
      oci.Process?.ApparmorProfile,
      "",
      "a host AppArmor profile means nothing in the guest",
    );
    // CRI's own host files are not sent; shm becomes the guest sandbox's; a host path passes on.
    assert.deepEqual(
      oci.Mounts.map((m) => [m.destination, m.type, m.source]),
      [
        ["/proc", "proc", "proc"],
        ["/dev/shm", "bind", "/run/kata-containers/sandbox/shm"],
        ["/data", "bind", "/host/data"],
      ],
    );
    assert.equal(oci.Annotations["io.kubernetes.cri.sandbox-uid"], undefined);
    assert.equal(oci.Annotations["io.katacontainers.config.hypervisor.cc_init_data"], undefined);
    assert.equal(oci.Annotations["io.kubernetes.cri.image-name"], IMAGE);
    const l = oci.Linux!;
    assert.deepEqual(l.Namespaces, [
      { Type: "ipc", Path: "" },
      { Type: "uts", Path: "" },
      { Type: "mount", Path: "" },
    ]);
    assert.equal(l.CgroupsPath, "");
    assert.deepEqual(l.Resources, {
      Devices: [],
      HugepageLimits: [],
      Memory: { Limit: 67108864n },
      CPU: { Shares: 512n, Quota: 50000n, Period: 100000n },
    });
    assert.deepEqual(l.MaskedPaths, ["/proc/kcore"]);
  });

  test("refuses a terminal, a spec without the image annotation, and ill-typed fields", () => {
    const tty = criSpec();
    tty.process!.terminal = true;
    assert.throws(
      () => toCreateContainerRequest(tty, { containerId: CID, sandboxId: SID }),
      code("ERR_SHIM_UNSUPPORTED"),
    );
    const noImage = criSpec();
    delete noImage.annotations!["io.kubernetes.cri.image-name"];
    assert.throws(
      () => toCreateContainerRequest(noImage, { containerId: CID, sandboxId: SID }),
      code("ERR_SHIM_SPEC"),
    );
    const badArgs = criSpec();
    (badArgs.process as { args: unknown }).args = ["/bin/sh", 7];
    assert.throws(
      () => toCreateContainerRequest(badArgs, { containerId: CID, sandboxId: SID }),
      code("ERR_SHIM_SPEC"),
    );
    const badUid = criSpec();
    badUid.process!.user!.uid = -1;
    assert.throws(
      () => toCreateContainerRequest(badUid, { containerId: CID, sandboxId: SID }),
      code("ERR_SHIM_SPEC"),
    );
  });

  test("config.json that is not a JSON object is a coded error", () => {
    for (const text of ["", "{", "[]", "null", "42", '"x"'])
      assert.throws(() => parseBundleSpec(text), code("ERR_SHIM_SPEC"), text);
  });
});

describe("init-data from the pod annotation", () => {
  const toml =
    'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = """\n[image.registry_config]\nregistry = [{ location = "127.0.0.1:5000", insecure = true }]\n"""\n';
  test("decodes the annotation (base64 of gzip) and reads the owner's insecure registries", () => {
    const spec: BundleSpec = {
      annotations: {
        "io.katacontainers.config.hypervisor.cc_init_data": encodeInitDataAnnotation(
          new TextEncoder().encode(toml),
        ),
      },
    };
    const bytes = sandboxInitData(spec);
    assert.equal(new TextDecoder().decode(bytes), toml);
    assert.deepEqual(insecureRegistriesOf(bytes), ["127.0.0.1:5000"]);
  });

  test("no init-data, or init-data that does not decode or parse, is refused (deny by default)", () => {
    assert.throws(() => sandboxInitData({ annotations: {} }), code("ERR_POD_INITDATA"));
    for (const v of [
      "not base64 !!",
      Buffer.from("plain text").toString("base64"),
      encodeInitDataAnnotation(new TextEncoder().encode("version = 1")),
    ]) {
      assert.throws(
        () =>
          sandboxInitData({
            annotations: { "io.katacontainers.config.hypervisor.cc_init_data": v },
          }),
        code("ERR_POD_INITDATA"),
        v,
      );
    }
  });
});
