import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { compileCacheDir, MIN_NODE_MAJOR, unsupportedNode } from "./node-runtime.js";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(repo, "dist", "src", "cli", "main.js");
const pinnedNode = join(repo, ".tools", "node", "bin", "node");
const scratch = mkdtempSync(join(tmpdir(), "node-runtime-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The tools.lock pin of node for this platform (linux-x64 / linux-arm64), if any. */
function pinnedVersion(): string | undefined {
  const platform = `${process.platform}-${process.arch}`;
  for (const line of readFileSync(join(repo, "tools.lock"), "utf8").split("\n")) {
    const [name, version, plat] = line.trim().split(/\s+/);
    if (name === "node" && plat === platform) return version;
  }
  return undefined;
}

/** Every files under `dir`, recursively (empty when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe("node runtime", () => {
  test("the test run uses the Node.js pinned in tools.lock", {
    skip: existsSync(pinnedNode) ? false : "no .tools/node: scripts/setup installs the pinned node",
  }, (t) => {
    t.diagnostic(`process.version ${process.version} (${process.execPath})`);
    const pinned = pinnedVersion();
    assert.ok(pinned, `tools.lock pins no node for ${process.platform}-${process.arch}`);
    assert.equal(process.version, `v${pinned}`);
    assert.equal(realpathSync(process.execPath), realpathSync(pinnedNode));
  });

  test("the minimum major matches package.json engines and the pin", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    assert.equal(pkg.engines.node, `>=${MIN_NODE_MAJOR}`);
    assert.match(pkg.devDependencies["@types/node"] ?? "", new RegExp(`^\\^${MIN_NODE_MAJOR}\\.`));
    const pinned = pinnedVersion();
    if (pinned !== undefined) assert.equal(Number(pinned.split(".")[0]), MIN_NODE_MAJOR);
  });

  test("refuses majors below 24 and names the running version", () => {
    assert.match(
      unsupportedNode("20.20.2") ?? "",
      /needs Node\.js 24 or newer; this is v20\.20\.2/,
    );
    assert.match(unsupportedNode("22.22.2") ?? "", /this is v22\.22\.2/);
    assert.ok(unsupportedNode("garbage"));
    assert.equal(unsupportedNode("24.0.0"), undefined);
    assert.equal(unsupportedNode("26.1.0"), undefined);
  });

  test("the compile cache lives in the user's cache directory, never a shared tmp", () => {
    assert.equal(
      compileCacheDir({ XDG_CACHE_HOME: "/x/cache" }, () => "/home/u"),
      "/x/cache/coco-ts/compile-cache",
    );
    assert.equal(
      compileCacheDir({}, () => "/home/u"),
      "/home/u/.cache/coco-ts/compile-cache",
    );
    // A relative XDG_CACHE_HOME is invalid by the XDG spec: fall back to the home directory.
    assert.equal(
      compileCacheDir({ XDG_CACHE_HOME: "rel" }, () => "/home/u"),
      "/home/u/.cache/coco-ts/compile-cache",
    );
    assert.equal(
      compileCacheDir({}, () => ""),
      undefined,
    );
    assert.equal(
      compileCacheDir({}, () => {
        throw new Error("no passwd entry");
      }),
      undefined,
    );
  });

  test("coco fills the compile cache on its first start, and not when it is disabled", async () => {
    const cache = join(scratch, "xdg");
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const off = await exec(process.execPath, [cli, "--version"], {
      env: { ...env, NODE_DISABLE_COMPILE_CACHE: "1" },
    });
    assert.match(off.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual(filesUnder(cache), []);
    // --help loads the command tree (--version answers before it loads).
    await exec(process.execPath, [cli, "--help"], { env });
    const files = filesUnder(join(cache, "coco-ts", "compile-cache"));
    // The command tree compiled through the cache: its bundle (dist/bundle/coco.mjs) when the
    // build made one, else program.js, commander and every command group.
    assert.ok(files.length >= 1, `expected cache entries, found ${files.length}`);
  });

  const old = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => {
    if (!existsSync(p)) return false;
    const v = spawnSync(p, ["--version"], { encoding: "utf8" }).stdout.trim();
    return Number(/^v(\d+)/.exec(v)?.[1] ?? 99) < MIN_NODE_MAJOR;
  });
  test("coco on an older Node.js exits 1 with ERR_NODE_VERSION", {
    skip: old ? false : "no Node.js older than 24 on this machine to run coco with",
  }, () => {
    const r = spawnSync(old!, [cli, "--version"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^coco: ERR_NODE_VERSION: coco-ts needs Node\.js 24 or newer; this is v/,
    );
  });
});
