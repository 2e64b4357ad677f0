/**
 * The Node.js runtime coco-ts needs, checked by every entry point before anything else loads,
 * and the module compile cache that makes the next start of the same entry faster.
 *
 * An entry point (a `bin`, the demo, the bench runner) is a few lines that call
 * {@link startEntry} with a dynamic import of the real program: static imports are compiled
 * before any of the entry's code runs, so the compile cache must be on before they load.
 */
import nodeModule from "node:module";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/** The oldest Node.js major coco-ts runs on (package.json `engines`; tools.lock pins one). */
export const MIN_NODE_MAJOR = 24;

/** Why this Node.js cannot run coco-ts, or undefined when it can. */
export function unsupportedNode(version: string = process.versions.node): string | undefined {
  const major = Number(/^(\d+)\./.exec(version)?.[1] ?? Number.NaN);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `coco-ts needs Node.js ${MIN_NODE_MAJOR} or newer; this is v${version.replace(/^v/, "")} ` +
    `(${process.execPath}). Run it with the Node.js that scripts/setup pins into ` +
    ".tools/node (npm scripts do), or put a Node.js 24 LTS first on PATH"
  );
}

/**
 * The compile cache directory for this user: `$XDG_CACHE_HOME/coco-ts/compile-cache`, else
 * `~/.cache/coco-ts/compile-cache`; undefined when neither names an absolute directory. Node's
 * default (`os.tmpdir()/node-compile-cache`) is not used: another local user could create it
 * first and plant code cache that a root process (the shim, `coco run`) would then load.
 */
export function compileCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  home: () => string = homedir,
): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "coco-ts", "compile-cache");
  let h: string;
  try {
    h = home();
  } catch {
    return undefined;
  }
  return isAbsolute(h) ? join(h, ".cache", "coco-ts", "compile-cache") : undefined;
}

/**
 * Turns the module compile cache on for this process and, through `NODE_COMPILE_CACHE`, for the
 * node processes it starts (the agent, the trustee, helpers). `NODE_COMPILE_CACHE` already set
 * wins; `NODE_DISABLE_COMPILE_CACHE=1` turns it off (both as node itself reads them). Never
 * throws: a cache that cannot be written only costs the speed-up. Returns the directory in use.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const dir = env.NODE_COMPILE_CACHE || compileCacheDir(env);
  if (dir === undefined || typeof nodeModule.enableCompileCache !== "function") return undefined;
  const r = nodeModule.enableCompileCache(dir);
  if (r.directory === undefined) return undefined;
  env.NODE_COMPILE_CACHE = r.directory;
  return r.directory;
}

/**
 * Runs an entry point: refuses an unsupported Node.js with `ERR_NODE_VERSION` on stderr and
 * exit status 1, turns the compile cache on, then loads and runs `load` (the program's module,
 * imported dynamically so that it compiles through the cache).
 */
export async function startEntry(name: string, load: () => Promise<unknown>): Promise<void> {
  const why = unsupportedNode();
  if (why !== undefined) {
    process.stderr.write(`${name}: ERR_NODE_VERSION: ${why}\n`);
    process.exitCode = 1;
    return;
  }
  enableCompileCache();
  await load();
}
