#!/usr/bin/env node
import { Command } from "commander";
import { packageVersion } from "../version.js";
import { commandGroups } from "./groups.js";

/** Builds the `coco` command tree. Each group module registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command("coco")
    .description(
      "Confidential Containers in TypeScript: Trustee, guest components, confidential images and pods.",
    )
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of commandGroups) register(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`coco: ${typeof code === "string" ? `${code}: ` : ""}${message}\n`);
    process.exitCode = 1;
  }
}

await main();
