/** `coco run`: run a Kubernetes Pod manifest in a confidential sandbox. */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { HostError } from "../host/errors.js";
import { type PodSpec, parsePod } from "../host/runtime/pod.js";
import { podInitData, runPod } from "../host/runtime/run.js";
import { DEFAULT_STATE_ROOT, podDir, savePod } from "../host/runtime/state.js";
import { parseInitData } from "../protocol/initdata/index.js";

/** Registers `coco run`. */
export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "run a Pod manifest in a sandbox; streams output as the pod's policy allows and exits with the pod's status",
    )
    .argument(
      "<pod.yaml>",
      "Kubernetes Pod manifest with the init-data annotation (see `coco policy generate`)",
    )
    .option(
      "--runtime-class <name>",
      "coco-dev (process sandbox, development only) or qemu; default: the pod's runtimeClassName",
    )
    .option(
      "--trustee <url>",
      "refuse to run unless the pod's init-data points its guest components at this Trustee",
    )
    .option(
      "--keep",
      "leave the sandbox after the containers end (for coco exec / logs; remove with coco rm)",
    )
    .option("-d, --detach", "return once the containers started (implies --keep)")
    .option("-v, --verbose", "print sandbox and container events on stderr")
    .option(
      "--restart-backoff <ms>",
      "first restart delay for restartPolicy OnFailure/Always (doubles up to 300 s; kubelet: 10000)",
    )
    .option("--supervise", "(internal) the detached supervisor of `coco run -d`")
    .action(
      async (
        file: string,
        o: {
          runtimeClass?: string;
          trustee?: string;
          keep?: boolean;
          detach?: boolean;
          verbose?: boolean;
          restartBackoff?: string;
          supervise?: boolean;
        },
      ) => {
        const pod = parsePod(readFileSync(file, "utf8"));
        const initialMs = o.restartBackoff === undefined ? undefined : Number(o.restartBackoff);
        if (initialMs !== undefined && !(Number.isInteger(initialMs) && initialMs >= 0))
          throw new HostError("ERR_POD_MANIFEST", "--restart-backoff must be a number of ms");
        const restart = initialMs === undefined ? {} : { restart: { initialMs } };
        // A detached pod that restarts containers needs a host process to watch it: a detached
        // supervisor (this command with --supervise) runs the pod and reports once it started.
        if (o.detach && !o.supervise && pod.restartPolicy !== "Never") {
          await startSupervisor(file, pod, o);
          return;
        }
        if (o.trustee) {
          const toml = podInitData(pod);
          const id = toml ? parseInitData(toml) : undefined;
          const text = `${id?.data["aa.toml"] ?? ""}\n${id?.data["cdh.toml"] ?? ""}`;
          if (!text.includes(o.trustee)) {
            throw new HostError(
              "ERR_POD_INITDATA",
              `the pod's init-data does not name Trustee ${o.trustee}; regenerate it with coco policy generate --trustee`,
            );
          }
        }
        const multi = pod.containers.length + pod.initContainers.length > 1;
        const abort = new AbortController();
        const interrupt = () => abort.abort();
        process.once("SIGINT", interrupt);
        process.once("SIGTERM", interrupt);
        const r = await runPod(pod, {
          ...(o.runtimeClass ? { runtimeClass: o.runtimeClass } : {}),
          keep: o.keep === true || o.detach === true || o.supervise === true,
          detach: o.detach === true && o.supervise !== true,
          supervise: o.supervise === true,
          ...restart,
          onStarted: (rec) => {
            if (!o.supervise) return;
            rec.supervisorPid = process.pid;
            savePod(DEFAULT_STATE_ROOT, rec);
            process.send?.({ started: true });
          },
          signal: abort.signal,
          onOutput: (name, stream, chunk) => {
            const out = stream === "stdout" ? process.stdout : process.stderr;
            if (!multi) out.write(chunk);
            else
              for (const line of Buffer.from(chunk)
                .toString("utf8")
                .split(/(?<=\n)/))
                out.write(`[${name}] ${line}`);
          },
          onEvent: (line) => {
            if (o.verbose || /hidden from the host|DEVELOPMENT ONLY|^warning:/.test(line))
              process.stderr.write(`coco: ${line}\n`);
          },
        });
        if (o.detach)
          process.stderr.write(
            `coco: pod ${pod.name} is running (coco ps, coco exec, coco logs, coco rm)\n`,
          );
        process.exitCode = r.exitCode;
      },
    );
}

/** Starts `coco run --supervise` detached and returns once it reports the pod started. */
async function startSupervisor(
  file: string,
  pod: PodSpec,
  o: { runtimeClass?: string; restartBackoff?: string },
): Promise<void> {
  const dir = podDir(DEFAULT_STATE_ROOT, pod.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = join(dir, "supervisor.log");
  const log = openSync(logPath, "a", 0o600);
  const script = process.argv[1];
  if (!script) throw new HostError("ERR_SANDBOX_START", "cannot locate the coco command");
  const args = [script, "run", "--supervise", "-d", "-v"];
  if (o.runtimeClass) args.push("--runtime-class", o.runtimeClass);
  if (o.restartBackoff !== undefined) args.push("--restart-backoff", o.restartBackoff);
  args.push(resolve(file));
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", log, log, "ipc"],
  });
  await new Promise<void>((ok, fail) => {
    child.once("message", () => ok());
    child.once("error", fail);
    child.once("exit", (code) => {
      const tail = readFileSync(logPath, "utf8").trim().split("\n").slice(-5).join("\n");
      fail(
        new HostError(
          "ERR_SANDBOX_START",
          `the pod supervisor exited with status ${code}:\n${tail}`,
        ),
      );
    });
  });
  child.removeAllListeners("exit");
  child.disconnect();
  child.unref();
  process.stderr.write(
    `coco: pod ${pod.name} is running, restartPolicy ${pod.restartPolicy} watched by process ${child.pid} (log ${logPath}; coco ps, exec, logs, rm)\n`,
  );
}
