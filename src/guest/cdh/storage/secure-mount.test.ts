import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createOfflineFsKbc } from "../kbc/offline-fs.js";
import { luksHeaderPath, parseBlockDeviceOptions, secureMount } from "./secure-mount.js";
import { runTool } from "./tools.js";

const dir = mkdtempSync(join(tmpdir(), "secure-mount-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const volumeKey = Buffer.from("0123456789abcdef0123456789abcdef-luks-key");
writeFileSync(
  join(dir, "kbc.json"),
  JSON.stringify({ "default/luks/key": volumeKey.toString("base64") }),
);
const getter = createOfflineFsKbc([join(dir, "kbc.json")]);
const deps = (baseDir: string) => ({
  getter,
  unseal: async () => new Uint8Array(0),
  baseDir,
  tools: runTool,
});

function loopSkip(): string | false {
  if (process.getuid?.() !== 0) return "needs root for losetup/cryptsetup";
  if (!existsSync("/dev/loop-control")) return "/dev/loop-control is absent in this sandbox";
  try {
    execFileSync("cryptsetup", ["--version"]);
  } catch {
    return "cryptsetup is not installed";
  }
  return false;
}

/** True when the kernel's device-mapper answers (`dmsetup version` reaches the driver). */
function deviceMapperWorks(): boolean {
  try {
    execFileSync("dmsetup", ["version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

describe("secure mount options", () => {
  test("parses upstream's camelCase options and resolves deviceId through sysfs", () => {
    const sys = join(dir, "sys");
    mkdirSync(join(sys, "dev/block/7:3"), { recursive: true });
    writeFileSync(
      join(sys, "dev/block/7:3/uevent"),
      "MAJOR=7\nMINOR=3\nDEVNAME=loop3\nDEVTYPE=disk\n",
    );
    const o = parseBlockDeviceOptions(
      {
        deviceId: "7:3",
        devicePath: "/dev/ignored",
        sourceType: "empty",
        encryptionType: "luks2",
        targetType: "fileSystem",
        mkfsOpts: "-m 0  -L data",
        dataIntegrity: "true",
        mapperName: "m1",
      },
      sys,
    );
    assert.equal(o.devicePath, "/dev/loop3");
    assert.deepEqual(o.mkfsOpts, ["-m", "0", "-L", "data"]);
    assert.equal(o.dataIntegrity, true);
  });

  for (const [name, opts] of [
    ["missing sourceType", { devicePath: "/dev/x", encryptionType: "luks2", targetType: "device" }],
    [
      "bad encryptionType",
      { devicePath: "/dev/x", sourceType: "empty", encryptionType: "aes", targetType: "device" },
    ],
    ["missing targetType", { devicePath: "/dev/x", sourceType: "empty", encryptionType: "luks2" }],
    [
      "relative device",
      { devicePath: "x", sourceType: "empty", encryptionType: "luks2", targetType: "device" },
    ],
    [
      "bad mapper name",
      {
        devicePath: "/dev/x",
        sourceType: "empty",
        encryptionType: "luks2",
        targetType: "device",
        mapperName: "../x",
      },
    ],
    [
      "xfs",
      {
        devicePath: "/dev/x",
        sourceType: "empty",
        encryptionType: "luks2",
        targetType: "fileSystem",
        filesystemType: "xfs",
      },
    ],
  ] as const) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseBlockDeviceOptions(opts as Record<string, string>), {
        code: "ERR_CDH_SECURE_MOUNT",
      });
    });
  }

  test("zfs and other volume types fail loudly", async () => {
    const base = join(dir, "b0");
    await assert.rejects(
      secureMount(
        {
          volumeType: "block-device",
          options: { devicePath: "/dev/x", sourceType: "empty", encryptionType: "zfs" },
          flags: [],
          mountPoint: "/mnt",
        },
        deps(base),
      ),
      { code: "ERR_CDH_SECURE_MOUNT" },
    );
    await assert.rejects(
      secureMount(
        { volumeType: "alibaba-cloud-oss", options: {}, flags: [], mountPoint: "/mnt" },
        deps(base),
      ),
      {
        code: "ERR_CDH_SECURE_MOUNT",
      },
    );
  });
});

describe("LUKS2 secure mount on a loop device", { skip: loopSkip() }, () => {
  test("formats with a detached header and the key from the KBC, then opens and mounts when device-mapper exists", async (t) => {
    const img = join(dir, "disk.img");
    execFileSync("truncate", ["-s", "64M", img]);
    const loop = execFileSync("losetup", ["-f", "--show", img]).toString().trim();
    const base = join(dir, "cdh-base");
    const mapper = `coco-test-${process.pid}`;
    const mnt = join(dir, "mnt");
    try {
      const req = {
        volumeType: "block-device",
        options: {
          devicePath: loop,
          sourceType: "empty",
          encryptionType: "luks2",
          targetType: "fileSystem",
          key: "kbs:///default/luks/key",
          mapperName: mapper,
        },
        flags: [],
        mountPoint: mnt,
      };
      const dm = deviceMapperWorks();
      if (dm) {
        await secureMount(req, deps(base));
        writeFileSync(join(mnt, "hello"), "world");
        execFileSync("umount", [mnt]);
        execFileSync("cryptsetup", ["luksClose", mapper]);
      } else {
        await assert.rejects(
          secureMount(req, deps(base)),
          (e: Error & { code: string }) => e.code === "ERR_CDH_TOOL" && /luksOpen/.test(e.message),
        );
      }
      const header = luksHeaderPath(base, loop);
      assert.ok(existsSync(header));
      const dump = execFileSync("cryptsetup", ["luksDump", header]).toString();
      assert.match(dump, /Version:\s+2/);
      assert.match(dump, /aes-xts-plain64/);
      assert.match(dump, /sector: 4096/);
      execFileSync(
        "cryptsetup",
        ["open", "--test-passphrase", "--header", header, "-d", "-", loop],
        { input: volumeKey },
      );
      assert.throws(() =>
        execFileSync(
          "cryptsetup",
          ["open", "--test-passphrase", "--header", header, "-d", "-", loop],
          { input: "wrong", stdio: "pipe" },
        ),
      );
      // a second format of the same device is refused (the header exists)
      await assert.rejects(secureMount(req, deps(base)), { code: "ERR_CDH_SECURE_MOUNT" });
      if (!dm)
        t.diagnostic(
          "the kernel device-mapper driver is unavailable in this sandbox (dmsetup version fails): open and mount were not exercised",
        );
    } finally {
      execFileSync("losetup", ["-d", loop]);
    }
  });
});
