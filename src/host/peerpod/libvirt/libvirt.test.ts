// run-tests: timeout 10 min (starts a private libvirtd; builds the pod VM image when missing; no VM boots)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cleanUpOnExit } from "../../../../test/helpers/cleanup.js";
import {
  libvirtdUnavailable,
  type PrivateLibvirtd,
  startPrivateLibvirtd,
} from "../../../../test/helpers/libvirtd.js";
import { buildCloudConfig } from "../../../protocol/peerpod/index.js";
import { decodeTags, domainXml, encodeTags } from "./domain-xml.js";
import { createLibvirtProvider } from "./provider.js";

const spec = {
  name: "podvm-web-01234567",
  sandboxId: "0123456789abcdef",
  podName: "web",
  podNamespace: "default",
  instanceType: "default",
  vcpus: 2,
  memoryMiB: 2048,
  image: "default",
  launchField: "q83vEjRWeJA=",
  insecureRegistries: ["127.0.0.1:5000"],
  forwardPorts: [5000, 8080],
  tags: { "coco-peerpod-adaptor": "node-1", "a&b": "<x>" },
};
const layout = {
  type: "qemu" as const,
  kernel: "/img/vmlinux",
  initrd: "/img/initrd.cpio",
  programsDisk: "/img/guest.img",
  pool: "coco-podvm",
  cidataVolume: "podvm-web-01234567-cidata.iso",
  consolePath: "/pool/podvm-web-01234567-console.log",
  hostPort: 40001,
};

describe("libvirt domain XML", () => {
  test("direct kernel boot, read-only disks, launch field and knobs on the command line, one loopback forward", () => {
    const xml = domainXml(spec, layout);
    assert.match(xml, /<domain type='qemu'/);
    assert.match(xml, /<cpu mode='maximum'\/>/);
    assert.match(
      xml,
      /<cmdline>[^<]*COCO_SAMPLE_LAUNCH_INIT_DATA=q83vEjRWeJA=[^<]*coco\.podvm=1<\/cmdline>/,
    );
    assert.match(xml, /coco\.insecure=127\.0\.0\.1:5000 coco\.forward=5000,8080/);
    assert.equal((xml.match(/<readonly\/>/g) ?? []).length, 2);
    assert.match(xml, /hostfwd=tcp:127\.0\.0\.1:40001-10\.0\.2\.15:15150/);
    assert.deepEqual(decodeTags(xml), spec.tags);
    assert.match(
      domainXml(spec, { ...layout, type: "kvm" }),
      /<domain type='kvm'[\s\S]*host-passthrough/,
    );
  });
  test("refuses names, launch fields and registries that could inject", () => {
    assert.throws(() => domainXml({ ...spec, name: "a'/><x" }, layout), RangeError);
    assert.throws(() => domainXml({ ...spec, launchField: "a b" }, layout), RangeError);
    assert.throws(
      () => domainXml({ ...spec, insecureRegistries: ["r init=/bin/sh"] }, layout),
      RangeError,
    );
  });
  test("tags decode only from our metadata", () => {
    assert.equal(decodeTags("<metadata/>"), undefined);
    assert.equal(
      decodeTags(`<coco:peerpod>${Buffer.from("[1]").toString("base64")}</coco:peerpod>`),
      undefined,
    );
    assert.deepEqual(decodeTags(`<peerpod xmlns='x'>${encodeTags({ a: "b" })}</peerpod>`), {
      a: "b",
    });
  });
});

describe("libvirt provider against a private libvirtd (no VM boots)", async () => {
  const skip = libvirtdUnavailable();
  const dir = mkdtempSync(join(tmpdir(), "coco-libvirt-"));
  const reap = cleanUpOnExit(dir);
  let lv: PrivateLibvirtd | undefined;
  before(async () => {
    if (!skip) lv = await startPrivateLibvirtd(dir);
  });
  after(async () => {
    await lv?.stop();
    reap();
  });
  const virsh = (...args: string[]) =>
    execFileSync("virsh", ["-c", lv!.uri, "-q", ...args], { encoding: "utf8" });

  test("create defines the domain and uploads the user-data volume; list finds it by tag; delete leaves no domain or volume", {
    skip,
  }, async () => {
    const p = createLibvirtProvider({
      uri: lv!.uri,
      pool: "coco-test",
      poolDir: lv!.poolDir,
      domainType: "qemu",
    });
    assert.equal(await p.unavailable(), false);
    const userData = buildCloudConfig([{ path: "/run/peerpod/apf.json", content: "{}" }]);
    const inst = await p.create({ ...spec, userData });
    assert.equal(inst.endpoint.host, "127.0.0.1");
    assert.deepEqual(await p.list({ "coco-peerpod-adaptor": "node-1" }), [
      { id: spec.name, name: spec.name, state: "stopped", tags: spec.tags },
    ]);
    assert.deepEqual(await p.list({ "coco-peerpod-adaptor": "node-2" }), []);
    const vols = virsh("vol-list", "coco-test");
    assert.match(vols, /podvm-web-01234567-cidata\.iso/);
    // The uploaded volume is a NoCloud ISO holding the user-data unchanged.
    const iso = join(lv!.poolDir, `${spec.name}-cidata.iso`);
    const listing = execFileSync("isoinfo", ["-i", iso, "-d"], { encoding: "utf8" });
    assert.match(listing, /Volume id: cidata/);
    assert.equal(
      execFileSync("isoinfo", ["-i", iso, "-R", "-x", "/user-data"], { encoding: "utf8" }),
      userData,
    );
    await assert.rejects(p.create({ ...spec, userData }), /already exists/);
    await p.delete(spec.name);
    assert.deepEqual(await p.list({}), []);
    assert.doesNotMatch(virsh("vol-list", "coco-test"), /podvm-web/);
    assert.equal(virsh("list", "--all", "--name").trim(), "");
    await p.delete(spec.name); // an unknown id is no error
  });
});
