import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { runChecked } from "../../../test/helpers/command.js";
import {
  CONTAINERD_BINS,
  containerdSkip,
  startContainerd,
} from "../../../test/helpers/containerd.js";
import { type InstallOptions, installContainerd, uninstallContainerd } from "./containerd.js";
import {
  containerdDropIn,
  MARKER,
  parseRuntimeConfig,
  RUNTIME_TYPE,
  runtimeConfigToml,
} from "./containerd-config.js";

/**
 * A package root whose `bin` names the two programs the installer installs. The programs here
 * print their argv: the test checks the launcher, not the shim (which has its own tests).
 */
function makePackage(dir: string, bins = ["containerd-shim-coco-v2", "coco-snapshotter"]): string {
  const pkg = join(dir, "pkg");
  mkdirSync(join(pkg, "dist"), { recursive: true });
  const bin: Record<string, string> = {};
  for (const b of bins) {
    bin[b] = `dist/${b}.js`;
    writeFileSync(
      join(pkg, "dist", `${b}.js`),
      `console.log(JSON.stringify(["${b}", ...process.argv.slice(2)]));\n`,
    );
  }
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "coco-ts", bin }));
  return pkg;
}

describe("coco install containerd (files)", () => {
  let dir: string;
  let opts: InstallOptions;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "coco-install-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fresh = (name: string, extra: InstallOptions = {}): InstallOptions => {
    const root = join(dir, name);
    mkdirSync(root, { recursive: true });
    opts = { root, packageRoot: makePackage(root), ...extra };
    return opts;
  };

  test("writes the drop-in, runtime configs and launchers; the drop-in names every handler", () => {
    const o = fresh("basic");
    const { record } = installContainerd(o);
    const root = o.root as string;
    assert.deepEqual(record.files.sort(), [
      "/etc/coco/runtime-coco-dev.toml",
      "/etc/coco/runtime-coco-qemu.toml",
      "/etc/coco/runtime-coco-remote.toml",
      "/etc/containerd/conf.d/coco.toml",
      "/usr/local/bin/coco-snapshotter",
      "/usr/local/bin/containerd-shim-coco-v2",
    ]);
    assert.equal(record.importLine, undefined, "containerd's default config imports conf.d/*.toml");
    const dropIn = parseToml(
      readFileSync(join(root, "etc/containerd/conf.d/coco.toml"), "utf8"),
    ) as {
      version: number;
      proxy_plugins: Record<string, { type: string; address: string }>;
      plugins: Record<
        string,
        { containerd?: { runtimes: Record<string, Record<string, unknown>> } }
      >;
    };
    assert.equal(dropIn.version, 3);
    assert.deepEqual(
      { ...dropIn.proxy_plugins.coco },
      {
        type: "snapshot",
        address: "/run/coco-snapshotter/snapshotter.sock",
      },
    );
    const runtimes = dropIn.plugins["io.containerd.cri.v1.runtime"]?.containerd?.runtimes ?? {};
    assert.deepEqual(Object.keys(runtimes).sort(), ["coco-dev", "coco-qemu", "coco-remote"]);
    assert.equal(runtimes["coco-dev"]?.runtime_type, RUNTIME_TYPE);
    assert.equal(runtimes["coco-dev"]?.runtime_path, "/usr/local/bin/containerd-shim-coco-v2");
    assert.deepEqual(runtimes["coco-dev"]?.pod_annotations, ["io.katacontainers.*"]);
    assert.equal(runtimes["coco-dev"]?.snapshotter, "coco");
    assert.deepEqual(
      { ...(runtimes["coco-qemu"]?.options as object) },
      { ConfigPath: "/etc/coco/runtime-coco-qemu.toml" },
    );
    assert.deepEqual(
      parseRuntimeConfig(readFileSync(join(root, "etc/coco/runtime-coco-dev.toml"), "utf8")),
      {
        handler: "coco-dev",
        runtimeClass: "coco-dev",
      },
    );
    assert.equal(
      parseRuntimeConfig(readFileSync(join(root, "etc/coco/runtime-coco-qemu.toml"), "utf8"))
        .runtimeClass,
      "qemu",
    );
    assert.equal(statSync(join(root, "usr/local/bin/containerd-shim-coco-v2")).mode & 0o777, 0o755);
  });

  test("the launcher runs the package's program with the Node that installed it, passing arguments", () => {
    const root = opts.root as string;
    const r = spawnSync(
      join(root, "usr/local/bin/containerd-shim-coco-v2"),
      ["-namespace", "k8s.io", "start"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      "containerd-shim-coco-v2",
      "-namespace",
      "k8s.io",
      "start",
    ]);
  });

  test("uninstall removes everything it recorded and the coco folder", () => {
    const root = opts.root as string;
    const { removed, kept } = uninstallContainerd(opts);
    assert.equal(removed.length, 6);
    assert.deepEqual(kept, []);
    for (const p of [
      "etc/containerd/conf.d/coco.toml",
      "usr/local/bin/containerd-shim-coco-v2",
      "etc/coco",
    ])
      assert.equal(existsSync(join(root, p)), false, p);
  });

  test("a main config without imports gets one line, and uninstall restores it byte for byte", () => {
    const o = fresh("main-config");
    const root = o.root as string;
    const original =
      'version = 3\n\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n';
    mkdirSync(join(root, "etc/containerd"), { recursive: true });
    writeFileSync(join(root, "etc/containerd/config.toml"), original, { mode: 0o600 });
    const { record } = installContainerd(o);
    assert.equal(record.importLine?.file, "/etc/containerd/config.toml");
    const edited = readFileSync(join(root, "etc/containerd/config.toml"), "utf8");
    const doc = parseToml(edited) as { imports: string[] };
    assert.deepEqual(doc.imports, ["/etc/containerd/conf.d/coco.toml"]);
    assert.equal(
      statSync(join(root, "etc/containerd/config.toml")).mode & 0o777,
      0o600,
      "mode kept",
    );
    // Re-installing keeps one line and the record of it.
    assert.equal(installContainerd(o).record.importLine?.file, "/etc/containerd/config.toml");
    assert.equal(readFileSync(join(root, "etc/containerd/config.toml"), "utf8"), edited);
    uninstallContainerd(o);
    assert.equal(readFileSync(join(root, "etc/containerd/config.toml"), "utf8"), original);
  });

  test("a main config whose imports miss the drop-in is refused before anything is written", () => {
    const o = fresh("imports-miss");
    const root = o.root as string;
    mkdirSync(join(root, "etc/containerd"), { recursive: true });
    writeFileSync(
      join(root, "etc/containerd/config.toml"),
      'version = 3\nimports = ["/etc/containerd/other/*.toml"]\n',
    );
    assert.throws(() => installContainerd(o), {
      code: "ERR_INSTALL_CONTAINERD_CONFIG",
      message: /add .*coco\.toml/,
    });
    assert.equal(existsSync(join(root, "etc/coco")), false);
    assert.equal(existsSync(join(root, "usr")), false);
  });

  test("imports matching the drop-in by glob (relative to the config) need no edit", () => {
    const o = fresh("imports-glob");
    const root = o.root as string;
    mkdirSync(join(root, "etc/containerd"), { recursive: true });
    writeFileSync(
      join(root, "etc/containerd/config.toml"),
      'version = 2\nimports = ["conf.d/*.toml"]\n',
    );
    assert.equal(installContainerd(o).record.importLine, undefined);
  });

  test("garbage or containerd 1.x configs are refused with the reason", () => {
    const o = fresh("garbage");
    const root = o.root as string;
    mkdirSync(join(root, "etc/containerd"), { recursive: true });
    writeFileSync(join(root, "etc/containerd/config.toml"), "version = = 3\n[[[");
    assert.throws(() => installContainerd(o), {
      code: "ERR_INSTALL_CONTAINERD_CONFIG",
      message: /not valid TOML/,
    });
    writeFileSync(join(root, "etc/containerd/config.toml"), "oom_score = 0\n");
    assert.throws(() => installContainerd(o), {
      code: "ERR_INSTALL_CONTAINERD_CONFIG",
      message: /version 1/,
    });
  });

  test("a foreign file in the way is never overwritten", () => {
    const o = fresh("conflict");
    const root = o.root as string;
    mkdirSync(join(root, "etc/containerd/conf.d"), { recursive: true });
    writeFileSync(join(root, "etc/containerd/conf.d/coco.toml"), "# mine\n");
    assert.throws(() => installContainerd(o), { code: "ERR_INSTALL_CONFLICT" });
    assert.equal(readFileSync(join(root, "etc/containerd/conf.d/coco.toml"), "utf8"), "# mine\n");
    assert.equal(existsSync(join(root, "usr/local/bin/containerd-shim-coco-v2")), false);
  });

  test("uninstall keeps a file changed since install, and refuses when nothing was installed", () => {
    const o = fresh("changed");
    const root = o.root as string;
    installContainerd(o);
    writeFileSync(
      join(root, "etc/coco/runtime-coco-dev.toml"),
      'handler = "coco-dev"\nruntime_class = "coco-dev"\n',
    );
    const { kept } = uninstallContainerd(o);
    assert.deepEqual(kept, ["/etc/coco/runtime-coco-dev.toml"]);
    assert.equal(existsSync(join(root, "etc/coco/runtime-coco-dev.toml")), true);
    assert.throws(() => uninstallContainerd(o), { code: "ERR_INSTALL_NOT_INSTALLED" });
  });

  test("a build without the shim program is refused, naming it", () => {
    const o = fresh("no-shim");
    o.packageRoot = makePackage(join(dir, "no-shim", "p2"), ["coco-snapshotter"]);
    assert.throws(() => installContainerd(o), {
      code: "ERR_INSTALL_MISSING_PROGRAM",
      message: /containerd-shim-coco-v2/,
    });
  });

  test("bad handlers and relative paths are refused", () => {
    const o = fresh("bad-options");
    assert.throws(
      () => installContainerd({ ...o, handlers: [{ name: "Bad_Name", runtimeClass: "coco-dev" }] }),
      {
        code: "ERR_INSTALL_OPTION",
      },
    );
    assert.throws(
      () => installContainerd({ ...o, handlers: [{ name: "x", runtimeClass: "nope" }] }),
      {
        code: "ERR_INSTALL_OPTION",
        message: /unknown runtime class/,
      },
    );
    assert.throws(() => installContainerd({ ...o, binDir: "usr/bin" }), {
      code: "ERR_INSTALL_OPTION",
    });
  });
});

describe("parseRuntimeConfig (the shim's ConfigPath)", () => {
  test("round-trips what the installer writes", () => {
    assert.deepEqual(
      parseRuntimeConfig(
        runtimeConfigToml({ name: "kata-qemu-coco-dev", runtimeClass: "coco-dev" }),
      ),
      {
        handler: "kata-qemu-coco-dev",
        runtimeClass: "coco-dev",
      },
    );
  });
  test("refuses garbage, truncation, unknown keys, wrong types, unknown classes and oversize input", () => {
    const bad = [
      "\u0000\u0001garbage",
      'handler = "coco-dev"\nruntime_class = "coco',
      'handler = "coco-dev"\nruntime_class = "coco-dev"\nextra = 1\n',
      "handler = 1\nruntime_class = 2\n",
      'handler = "coco-dev"\n',
      'handler = "coco-dev"\nruntime_class = "vmware"\n',
      `# ${"x".repeat(70_000)}\n`,
    ];
    for (const t of bad)
      assert.throws(
        () => parseRuntimeConfig(t),
        { code: "ERR_INSTALL_RUNTIME_CONFIG" },
        t.slice(0, 40),
      );
  });
});

describe("coco install containerd (a real containerd loads the drop-in)", {
  skip: containerdSkip(),
}, () => {
  test("CRI lists the coco handlers and containerd the coco proxy snapshotter; gone after uninstall", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coco-install-ctrd-"));
    try {
      const root = join(dir, "root");
      const o: InstallOptions = {
        root,
        packageRoot: makePackage(dir),
        snapshotterSocket: join(dir, "snap.sock"),
      };
      installContainerd(o);
      const dropIn = join(root, "etc/containerd/conf.d/coco.toml");
      const c = await startContainerd({ imports: [dropIn], importImages: false });
      try {
        const info = JSON.parse(await c.crictlOk(["info"])) as {
          config: {
            containerd: {
              runtimes: Record<
                string,
                {
                  runtimeType: string;
                  snapshotter: string;
                  PodAnnotations: string[];
                  runtimePath: string;
                  options: { ConfigPath: string };
                }
              >;
            };
          };
        };
        const rt = info.config.containerd.runtimes;
        assert.equal(
          rt.runc?.runtimeType,
          "io.containerd.runc.v2",
          "the main config's runc handler is kept",
        );
        for (const h of ["coco-dev", "coco-qemu", "coco-remote"]) {
          assert.equal(rt[h]?.runtimeType, RUNTIME_TYPE, h);
          assert.equal(rt[h]?.snapshotter, "coco", h);
          assert.deepEqual(rt[h]?.PodAnnotations, ["io.katacontainers.*"], h);
          assert.equal(rt[h]?.runtimePath, "/usr/local/bin/containerd-shim-coco-v2", h);
          assert.equal(rt[h]?.options.ConfigPath, `/etc/coco/runtime-${h}.toml`, h);
        }
        // The image settings are not in crictl info: read containerd's merged config instead.
        const dump = await runChecked(CONTAINERD_BINS.containerd, [
          "--config",
          c.configPath,
          "config",
          "dump",
        ]);
        const images = (
          parseToml(dump) as { plugins: Record<string, { disable_snapshot_annotations?: boolean }> }
        ).plugins["io.containerd.cri.v1.images"];
        assert.equal(images?.disable_snapshot_annotations, false);
        const transfer = (
          parseToml(dump) as {
            plugins: Record<string, { unpack_config?: { snapshotter: string }[] }>;
          }
        ).plugins["io.containerd.transfer.v1.local"];
        assert.deepEqual(
          transfer?.unpack_config?.map((u) => u.snapshotter),
          ["overlayfs", "coco"],
          "ctr images pull --snapshotter coco unpacks for coco; overlayfs is kept",
        );
        const plugins = await c.ctrOk(["plugins", "ls"]);
        assert.match(plugins, /io\.containerd\.snapshotter\.v1\s+coco\s/);
      } finally {
        await c.stop();
      }
      uninstallContainerd(o);
      assert.equal(existsSync(dropIn), false);
      const c2 = await startContainerd({
        imports: [join(root, "etc/containerd/conf.d/*.toml")],
        importImages: false,
      });
      try {
        const info = JSON.parse(await c2.crictlOk(["info"])) as {
          config: { containerd: { runtimes: Record<string, unknown> } };
        };
        assert.deepEqual(Object.keys(info.config.containerd.runtimes), ["runc"]);
      } finally {
        await c2.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("the drop-in text starts with the marker and is valid TOML for any handler set", () => {
  const text = containerdDropIn({
    handlers: [{ name: "kata-qemu-coco-dev", runtimeClass: "kata-qemu-coco-dev" }],
    shimPath: "/opt/x y/containerd-shim-coco-v2",
    snapshotterSocket: "/run/s.sock",
    runtimeConfigPath: (h) => `/etc/coco/runtime-${h}.toml`,
  });
  assert.equal(text.split("\n")[0], MARKER);
  assert.doesNotThrow(() => parseToml(text));
});
