/** `coco policy generate`: a pod's agent policy and init-data, written into its manifest. */
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { HostError } from "../host/errors.js";
import { generatePolicy } from "../host/genpolicy/generate.js";
import { guestConfigs } from "../host/genpolicy/guest-config.js";
import { fetchImageInfo, type ImageInfo } from "../host/runtime/image-config.js";
import { INITDATA_ANNOTATION, parseWorkload } from "../host/runtime/pod.js";
import { podInitData } from "../host/runtime/run.js";
import { parseInitData } from "../protocol/initdata/index.js";

const collect = (v: string, prev: string[]) => [...prev, v];

/** Registers `coco policy`. */
export function registerPolicy(program: Command): void {
  const policy = program.command("policy").description("agent policies for confidential pods");
  policy
    .command("digest")
    .description("print the init-data digest of a pod manifest (what Trustee sees as init_data)")
    .argument("<pod.yaml>", "manifest with the init-data annotation")
    .option("--show", "also print the init-data TOML")
    .action((file: string, o: { show?: boolean }) => {
      const toml = podInitData(parseWorkload(readFileSync(file, "utf8")).pod);
      if (!toml) throw new HostError("ERR_POD_INITDATA", `${file} has no init-data annotation`);
      const id = parseInitData(toml);
      const d = Buffer.from(id.digest);
      process.stdout.write(
        `${JSON.stringify({ algorithm: id.algorithm, base64: d.toString("base64"), hex: d.toString("hex"), files: Object.keys(id.data) })}\n`,
      );
      if (o.show) process.stdout.write(id.text);
    });
  policy
    .command("generate")
    .description(
      "generate the pod's policy (images pinned by digest) and put it in the init-data annotation",
    )
    .argument(
      "<pod.yaml>",
      "Kubernetes Pod manifest, or a Deployment/ReplicaSet/StatefulSet/DaemonSet/Job (one policy for all its replicas)",
    )
    .option(
      "-o, --output <file>",
      "write the manifest here (default: stdout; use the input path to rewrite in place)",
    )
    .option(
      "--allow-exec <argv-json>",
      'allow `coco exec` of this command, e.g. \'["/bin/ls","/"]\' (repeatable)',
      collect,
      [],
    )
    .option("--allow-logs", "let the host read container output (denied by default)")
    .option("--allow-stdin", "let the host write to container stdin (denied by default)")
    .option(
      "--pin-resources",
      "refuse containers whose CPU/memory limits differ from the manifest (genpolicy lets the host choose)",
    )
    .option(
      "--trustee <url>",
      "put aa.toml and cdh.toml naming this Trustee (KBS) into the init-data",
    )
    .option(
      "--insecure-registry <host:port>",
      "with --trustee: let the guest pull from this registry over plain HTTP (repeatable)",
      collect,
      [],
    )
    .option(
      "--image-policy-uri <uri>",
      "with --trustee: the image signature policy the guest enforces (kbs:///…)",
    )
    .option(
      "--initdata-path <toml>",
      "keep the [data] files (aa.toml, cdh.toml) of this init-data; policy.rego is replaced",
    )
    .option("--algorithm <alg>", "init-data digest algorithm: sha256, sha384, sha512", "sha256")
    .option(
      "--ctr",
      "the policy is for `ctr run --runtime io.containerd.coco.v2` (one container, no CRI pod; see docs/kubernetes.md)",
    )
    .option(
      "--print-annotation",
      "print only KEY=VALUE of the init-data annotation (for `ctr run --annotation`)",
    )
    .option("-r, --raw-out", "print the policy text instead of the manifest")
    .action(
      async (
        file: string,
        o: {
          output?: string;
          allowExec: string[];
          insecureRegistry: string[];
          imagePolicyUri?: string;
          allowLogs?: boolean;
          allowStdin?: boolean;
          pinResources?: boolean;
          trustee?: string;
          initdataPath?: string;
          algorithm: string;
          rawOut?: boolean;
          ctr?: boolean;
          printAnnotation?: boolean;
        },
      ) => {
        const manifest = readFileSync(file, "utf8");
        const { pod, owner } = parseWorkload(manifest);
        const images = new Map<string, ImageInfo>();
        for (const c of [...pod.initContainers, ...pod.containers]) {
          if (!images.has(c.image)) images.set(c.image, await fetchImageInfo(c.image));
        }
        const allowExec = o.allowExec.map((j) => {
          const v = JSON.parse(j) as unknown;
          if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "string")) {
            throw new HostError(
              "ERR_POLICY_GENERATE",
              `--allow-exec wants a JSON array of strings, got ${j}`,
            );
          }
          return v as string[];
        });
        let files: Record<string, string> = {};
        if (o.initdataPath) {
          const { "policy.rego": _drop, ...rest } = parseInitData(
            readFileSync(o.initdataPath),
          ).data;
          files = rest;
        }
        if (o.trustee) {
          files = {
            ...files,
            ...guestConfigs({
              trustee: o.trustee,
              insecureRegistries: o.insecureRegistry,
              ...(o.imagePolicyUri ? { imagePolicyUri: o.imagePolicyUri } : {}),
            }),
          };
        }
        if (!["sha256", "sha384", "sha512"].includes(o.algorithm)) {
          throw new HostError(
            "ERR_POLICY_GENERATE",
            "--algorithm must be sha256, sha384 or sha512",
          );
        }
        const gen = generatePolicy(manifest, pod, images, {
          allowExec,
          allowLogs: o.allowLogs === true,
          allowStdin: o.allowStdin === true,
          pinResources: o.pinResources === true,
          initDataFiles: files,
          algorithm: o.algorithm as "sha256",
          ...(owner !== undefined ? { owner } : {}),
          ...(o.ctr ? { ctr: true } : {}),
        });
        const text = o.printAnnotation
          ? `${INITDATA_ANNOTATION}=${gen.annotation}\n`
          : o.rawOut
            ? gen.policy
            : gen.yaml;
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
      },
    );
}
