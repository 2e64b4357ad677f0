#!/usr/bin/env node
// The pod agent process: `node main.js <boot-config.json>`. Started inside a sandbox (the
// process sandbox's namespaces, or a VM's init); never by the host's own runtime code.
import { readFileSync } from "node:fs";
import { createEngine } from "../../rego/index.js";
import { type AgentBootConfig, bootAgent } from "./boot.js";

const log = (line: string) => process.stderr.write(`coco-agent: ${line}\n`);

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error("usage: main.js <boot-config.json>");
  const cfg = JSON.parse(readFileSync(path, "utf8")) as AgentBootConfig;
  const agent = await bootAgent(cfg, {
    newEngine: () => createEngine(),
    // Loaded only when init-data configures guest components: they pull in AA, CDH and the
    // whole image pipeline, which a pod without them does not need at boot.
    guest: async (initData, initdataDir) => {
      if (initData?.data["cdh.toml"] === undefined) return undefined;
      const { startGuestComponents } = await import("./guest-components.js");
      return startGuestComponents(initData, { initdataDir, log });
    },
    log,
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    agent.close().finally(() => process.exit(0));
  };
  // As PID 1 of its namespace, the agent gets no default signal handling: install it.
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write("ready\n");
}

main().catch((err) => {
  log(`fatal: ${(err as { code?: string }).code ?? ""} ${(err as Error).message}`);
  process.exit(1);
});
