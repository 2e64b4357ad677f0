import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kernelCommandLine, loopbackPorts, type QemuLaunch, qemuArgs } from "./qemu-args.js";

// The qemu command line and kernel parameters (no VM is booted here).
const base: QemuLaunch = {
  qemu: "/usr/bin/qemu-system-x86_64",
  accel: "tcg",
  cpu: "max",
  kernel: "/g/vmlinuz",
  initrd: "/g/initrd.cpio",
  guestDisk: "/g/guest.img",
  stateDir: "/s",
  memoryMiB: 2048,
  cpus: 2,
  insecureRegistries: [],
  forwardPorts: [],
};

describe("qemu command line", () => {
  test("serves the agent port on a unix socket through virtio-serial", () => {
    const a = qemuArgs(base);
    assert.ok(a.includes("socket,path=/s/qemu-agent.sock,server=on,wait=off,id=agent"));
    assert.ok(a.includes("virtserialport,bus=serial0.0,chardev=agent,name=agent.0"));
    assert.equal(a[a.indexOf("-machine") + 1], "q35,accel=tcg");
    assert.equal(a[a.indexOf("-cpu") + 1], "max");
    const kvm = qemuArgs({ ...base, accel: "kvm", cpu: "qemu64" });
    assert.equal(kvm[kvm.indexOf("-machine") + 1], "q35,accel=kvm");
    assert.equal(kvm[kvm.indexOf("-cpu") + 1], "qemu64");
  });

  test("keeps the boot visible: early serial console, no quiet log level", () => {
    const line = kernelCommandLine(base);
    assert.match(line, /^console=ttyS0 earlyprintk=serial,ttyS0 /);
    assert.doesNotMatch(line, /\bquiet\b|loglevel=/);
  });

  test("attaches the programs disk read-only, before any init-data disk", () => {
    const a = qemuArgs({ ...base, initdataDisk: "/s/initdata.img" });
    const guest = a.indexOf("file=/g/guest.img,if=none,id=guest,format=raw,readonly=on");
    assert.ok(guest > 0);
    assert.ok(guest < a.indexOf("file=/s/initdata.img,if=none,id=initdata,format=raw,readonly=on"));
  });

  test("attaches init-data read-only as a virtio-blk disk and tells the guest to expect it", () => {
    const a = qemuArgs({ ...base, initdataDisk: "/s/initdata.img" });
    assert.ok(a.includes("file=/s/initdata.img,if=none,id=initdata,format=raw,readonly=on"));
    assert.match(a[a.indexOf("-append") + 1] ?? "", /\bcoco\.initdata=1\b/);
    assert.doesNotMatch(kernelCommandLine(base), /coco\.initdata/);
  });

  test("passes registries and forwarded ports as kernel parameters", () => {
    const line = kernelCommandLine({
      ...base,
      insecureRegistries: ["127.0.0.1:5000", "[::1]:6000"],
      forwardPorts: [5000, 8080],
    });
    assert.match(line, /coco\.insecure=127\.0\.0\.1:5000,\[::1\]:6000/);
    assert.match(line, /coco\.forward=5000,8080/);
  });

  test("passes one guest node flag as NODE_OPTIONS and refuses anything else", () => {
    assert.match(
      kernelCommandLine({ ...base, nodeOptions: ["--jitless"] }),
      / NODE_OPTIONS=--jitless$/,
    );
    assert.throws(() => kernelCommandLine({ ...base, nodeOptions: ["--jitless init=/bin/sh"] }));
    assert.throws(() => kernelCommandLine({ ...base, nodeOptions: ["--a", "--b"] }));
  });

  test("sets the sample TEE's launch field in init's environment, base64 only", () => {
    const field = Buffer.alloc(32, 7).toString("base64");
    assert.match(
      kernelCommandLine({ ...base, sampleLaunchField: field }),
      new RegExp(` COCO_SAMPLE_LAUNCH_INIT_DATA=${field.replace(/[+/]/g, "\\$&")}`),
    );
    assert.throws(() => kernelCommandLine({ ...base, sampleLaunchField: "AAAA init=/bin/sh" }));
  });

  test("refuses a registry name that would inject another kernel parameter", () => {
    assert.throws(() =>
      kernelCommandLine({ ...base, insecureRegistries: ["r:5000 init=/bin/sh"] }),
    );
  });

  test("forwards loopback registry ports and loopback URLs named in init-data", () => {
    const toml = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = '''\n[token_configs.kbs]\nurl = "http://127.0.0.1:8085"\n'''\n"cdh.toml" = '''\nurl = "http://localhost:8085"\nother = "http://10.1.2.3:9999"\n'''\n`;
    assert.deepEqual(
      loopbackPorts(
        ["127.0.0.1:5000", "registry.example:443", "localhost:5001"],
        new TextEncoder().encode(toml),
      ),
      [5000, 5001, 8085],
    );
    assert.deepEqual(loopbackPorts([]), []);
  });
});
