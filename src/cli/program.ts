import { Command } from "commander";
import { packageVersion } from "../version.js";
import { commandGroups } from "./groups.js";

/**
 * Builds the `coco` command tree. When `argv` names a group, only that group's module is
 * loaded; otherwise (help, unknown words) every group is, so help lists them all.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("coco")
    .description(
      "Confidential Containers in TypeScript: Trustee, guest components, confidential images and pods.",
    )
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const first = argv.slice(2).find((a) => !a.startsWith("-"));
  const wanted = first !== undefined && Object.hasOwn(commandGroups, first) ? [first] : undefined;
  for (const name of wanted ?? Object.keys(commandGroups)) {
    const load = commandGroups[name];
    if (load === undefined) continue;
    if (wanted !== undefined) {
      (await load())(program);
      continue;
    }
    // Listing every group: one group that fails to load is named, the others still work.
    try {
      (await load())(program);
    } catch (err) {
      process.stderr.write(
        `coco: command group '${name}' failed to load: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
  }
  return program;
}

/** Runs `coco` with this process's arguments; errors print as `coco: CODE: message`, exit 1. */
export async function main(): Promise<void> {
  try {
    const program = await buildProgram(process.argv);
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`coco: ${typeof code === "string" ? `${code}: ` : ""}${message}\n`);
    process.exitCode = 1;
  }
}
