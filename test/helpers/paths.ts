import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest folder above this file that holds package.json. */
export const repoRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
}

/** `../shared/` beside the checkout (read in place, never copied), or COCO_SHARED_DIR. */
export const sharedDir: string = resolve(
  process.env.COCO_SHARED_DIR ?? join(repoRoot, "..", "shared"),
);

/**
 * Path to a file under `../shared/`, plus a skip reason when it is absent, for
 * `test(name, { skip: sharedSkip("fixtures/...") }, ...)`.
 */
export function sharedPath(rel: string): string {
  return join(sharedDir, rel);
}

/** A skip reason when `../shared/<rel>` is missing, otherwise false. */
export function sharedSkip(rel: string): string | false {
  return existsSync(sharedPath(rel))
    ? false
    : `../shared/${rel} is absent (tests read it in place)`;
}

/** Absolute path of a project-local tool installed by scripts/setup into .tools/bin. */
export function toolPath(name: string): string {
  return join(repoRoot, ".tools", "bin", name);
}
