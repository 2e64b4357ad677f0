/** `coco rm`: stop a pod's sandbox and forget it. */
import type { Command } from "commander";
import { AgentClient } from "../host/runtime/agent-client.js";
import { DEFAULT_STATE_ROOT, forgetPod, isAlive, loadPod } from "../host/runtime/state.js";
import { recordedSandboxAlive, stopRecordedSandbox } from "../host/sandbox/index.js";

/** Registers `coco rm`. */
export function registerRm(program: Command): void {
  program
    .command("rm")
    .description("stop a pod's sandbox (its containers die with it) and remove its record")
    .argument("<pod...>", "pod names")
    .action(async (names: string[]) => {
      for (const name of names) {
        const rec = loadPod(DEFAULT_STATE_ROOT, name);
        // Stop the restart supervisor first, so it does not restart what is being removed.
        if (rec.supervisorPid !== undefined && isAlive(rec.supervisorPid)) {
          try {
            process.kill(rec.supervisorPid, "SIGTERM");
          } catch {
            // already gone
          }
          for (let i = 0; i < 100 && isAlive(rec.supervisorPid); i++)
            await new Promise((r) => setTimeout(r, 100));
        }
        if (recordedSandboxAlive(rec)) {
          const agent = new AgentClient(rec.agentAddress);
          try {
            await agent.destroySandbox();
          } catch {
            // the policy may deny it; stopping the sandbox ends everything anyway
          } finally {
            agent.close();
          }
        }
        if (rec.kind === "remote") {
          // The adaptor may be down: the owner file goes whatever it answers, so its garbage
          // collection deletes the VM when it runs again.
          await stopRecordedSandbox(rec).catch((err: Error) =>
            process.stderr.write(
              `coco: the peer-pods adaptor did not answer (${err.message}); it deletes the VM of ${name} when it runs again\n`,
            ),
          );
        } else if (recordedSandboxAlive(rec)) {
          await stopRecordedSandbox(rec);
        }
        forgetPod(DEFAULT_STATE_ROOT, name);
        process.stdout.write(`${name}\n`);
      }
    });
}
