/**
 * `npm run bench -- NAME`: runs bench/NAME.ts (its exported `run()`). With no NAME, lists them.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(here)
  .filter(
    (f) =>
      f.endsWith(".js") &&
      !["run.js", "harness.js", "opa.js"].includes(f) &&
      !f.endsWith(".test.js"),
  )
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];
if (name === undefined || !available.includes(name)) {
  console.error(
    `${name === undefined ? "usage" : `unknown benchmark '${name}'`}: npm run bench -- NAME  (one of: ${available.join(", ") || "none yet"})`,
  );
  process.exit(name === undefined ? 0 : 2);
}
const mod = (await import(`./${name}.js`)) as { run: (args: string[]) => Promise<void> };
await mod.run(process.argv.slice(3));
