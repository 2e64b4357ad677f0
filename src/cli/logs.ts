/** `coco logs`: read a container's output, if the pod's policy lets the host read it. */
import type { Command } from "commander";
import { AgentClient } from "../host/runtime/agent-client.js";
import { DEFAULT_STATE_ROOT, loadPod } from "../host/runtime/state.js";
import { pickContainer } from "./exec.js";

/** Registers `coco logs`. */
export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description(
      "follow a container's stdout/stderr (empty when the pod's policy denies log reads)",
    )
    .argument("<pod>", "pod name")
    .option("-c, --container <name>", "container name (default: the first app container)")
    .action(async (podName: string, o: { container?: string }) => {
      const rec = loadPod(DEFAULT_STATE_ROOT, podName);
      const c = pickContainer(rec, o.container);
      const agent = new AgentClient(rec.agentAddress);
      try {
        const how = await Promise.all([
          agent.pump(c.id, "", "stdout", (d) => process.stdout.write(d)),
          agent.pump(c.id, "", "stderr", (d) => process.stderr.write(d)),
        ]);
        if (how.includes("denied"))
          process.stderr.write("coco: log reads are denied by the pod's policy\n");
      } finally {
        agent.close();
      }
    });
}
