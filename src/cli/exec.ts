/** `coco exec`: run a command in a pod's container, if the pod's policy allows it. */
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { HostError } from "../host/errors.js";
import { AgentClient } from "../host/runtime/agent-client.js";
import { DEFAULT_STATE_ROOT, loadPod, type PodRecord } from "../host/runtime/state.js";

/** The container of a pod record named by `-c`, or its only/first app container. */
export function pickContainer(rec: PodRecord, name?: string): { name: string; id: string } {
  const c = name
    ? rec.containers.find((x) => x.name === name)
    : rec.containers.find((x) => !x.init);
  if (!c)
    throw new HostError("ERR_POD_NOT_FOUND", `pod ${rec.name} has no container ${name ?? "(app)"}`);
  return c;
}

/** Registers `coco exec`. */
export function registerExec(program: Command): void {
  program
    .command("exec")
    .description(
      "run a command in a running pod (refused unless the pod's policy allows that command)",
    )
    .argument("<pod>", "pod name")
    .argument("<command...>", "command and arguments (after --)")
    .option("-c, --container <name>", "container name (default: the first app container)")
    .action(async (podName: string, command: string[], o: { container?: string }) => {
      const rec = loadPod(DEFAULT_STATE_ROOT, podName);
      const c = pickContainer(rec, o.container);
      const agent = new AgentClient(rec.agentAddress);
      try {
        const execId = `exec-${randomBytes(6).toString("hex")}`;
        await agent.execProcess(c.id, execId, {
          Terminal: false,
          Args: command,
          Env: [],
          Cwd: "/",
          NoNewPrivileges: false,
          ApparmorProfile: "",
          SelinuxLabel: "",
        });
        const pumps = [
          agent.pump(c.id, execId, "stdout", (d) => process.stdout.write(d)),
          agent.pump(c.id, execId, "stderr", (d) => process.stderr.write(d)),
        ];
        const status = await agent.waitProcess(c.id, execId);
        const how = await Promise.all(pumps);
        if (how.includes("denied"))
          process.stderr.write("coco: output hidden from the host by the pod's policy\n");
        process.exitCode = status;
      } finally {
        agent.close();
      }
    });
}
