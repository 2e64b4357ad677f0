/** `coco run`: run a Kubernetes Pod manifest in a confidential sandbox. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { HostError } from "../host/errors.js";
import { parsePod } from "../host/runtime/pod.js";
import { podInitData, runPod } from "../host/runtime/run.js";
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
    .action(
      async (
        file: string,
        o: {
          runtimeClass?: string;
          trustee?: string;
          keep?: boolean;
          detach?: boolean;
          verbose?: boolean;
        },
      ) => {
        const pod = parsePod(readFileSync(file, "utf8"));
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
          keep: o.keep === true || o.detach === true,
          detach: o.detach === true,
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
