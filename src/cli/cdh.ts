/**
 * `coco cdh`: run the Confidential Data Hub (`run -c`), the workload REST API (`api-server`),
 * and client calls to a running hub (`get-resource`, `unseal-secret`, `unwrap-key`,
 * `secure-mount`, as upstream's ttrpc-cdh-tool).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import {
  AA_SOCKET,
  CDH_SOCKET,
  cdhConfigFromKbcParams,
  loadCdhConfig,
} from "../guest/cdh/config.js";
import { startConfidentialDataHub } from "../guest/cdh/daemon.js";
import { type ApiFeature, startApiServer } from "../guest/cdh/rest/api-server.js";
import {
  CDH_SERVICES,
  CdhMessages,
  KEYPROVIDER_SERVICE,
  KeyProviderMessages,
} from "../protocol/ttrpc/index.js";
import { callOnce, unsealThroughCdh, waitForSignal } from "./guest-common.js";

function out(bytes: Uint8Array): void {
  process.stdout.write(Buffer.from(bytes));
}

/** Registers `coco cdh`. */
export function registerCdh(program: Command): void {
  const cdh = program
    .command("cdh")
    .description("Confidential Data Hub (ttrpc service, REST API and client)");
  cdh
    .command("run")
    .description("run the Confidential Data Hub")
    .option("-c, --config <path>", "CDH config (TOML, or JSON by extension)")
    .option("--no-token-cache", "ask AA for a new token on every request (upstream behaviour)")
    .option("--base-dir <dir>", "CDH base folder", "/run/confidential-containers/cdh")
    .action(async (o: { config?: string; tokenCache: boolean; baseDir: string }) => {
      const config = o.config
        ? loadCdhConfig(o.config)
        : cdhConfigFromKbcParams(process.env.AA_KBC_PARAMS);
      const running = await startConfidentialDataHub({
        config,
        tokenCache: o.tokenCache,
        baseDir: o.baseDir,
        sealedSecretKeyDir: `${o.baseDir}/sealed-secret`,
        log: (l) => process.stderr.write(`${l}\n`),
      });
      await waitForSignal(running.close);
    });
  cdh
    .command("api-server")
    .description("run the workload REST API (loopback callers only)")
    .option("--bind <host:port>", "listen address", "127.0.0.1:8006")
    .option("--features <f>", "resource | attestation | all", "resource")
    .option("--cdh_addr <addr>", "CDH ttrpc address", CDH_SOCKET)
    .option("--aa_addr <addr>", "AA ttrpc address", AA_SOCKET)
    .action(async (o: { bind: string; features: string; cdh_addr: string; aa_addr: string }) => {
      if (!["resource", "attestation", "all"].includes(o.features))
        throw new Error("--features must be resource, attestation or all");
      const s = await startApiServer({
        bind: o.bind,
        features: o.features as ApiFeature,
        cdhAddr: o.cdh_addr,
        aaAddr: o.aa_addr,
      });
      process.stderr.write(`api-server-rest: listening on ${s.url}\n`);
      await waitForSignal(s.close);
    });
  const sock = ["--socket <addr>", "CDH ttrpc address", CDH_SOCKET] as const;
  cdh
    .command("get-resource")
    .option(...sock)
    .requiredOption("--resource-uri <uri>", "kbs:///repo/type/tag")
    .action(async (o: { socket: string; resourceUri: string }) => {
      const r = await callOnce(
        o.socket,
        CDH_SERVICES.getResource,
        "GetResource",
        CdhMessages.GetResourceRequest,
        CdhMessages.GetResourceResponse,
        {
          ResourcePath: o.resourceUri,
        },
      );
      out(r.Resource);
    });
  cdh
    .command("unseal-secret")
    .option(...sock)
    .requiredOption("--secret-path <path>", "file holding the sealed secret")
    .action(async (o: { socket: string; secretPath: string }) => {
      out(await unsealThroughCdh(o.socket, o.secretPath));
    });
  cdh
    .command("unwrap-key")
    .option(...sock)
    .requiredOption("--annotation-path <path>", "file holding the AnnotationPacket JSON")
    .action(async (o: { socket: string; annotationPath: string }) => {
      const input = {
        op: "keyunwrap",
        keywrapparams: {},
        keyunwrapparams: {
          dc: { Parameters: {} },
          annotation: readFileSync(o.annotationPath).toString("base64"),
        },
      };
      const r = await callOnce(
        o.socket,
        KEYPROVIDER_SERVICE,
        "UnWrapKey",
        KeyProviderMessages.Input,
        KeyProviderMessages.Output,
        {
          KeyProviderKeyWrapProtocolInput: Buffer.from(JSON.stringify(input)),
        },
      );
      out(r.KeyProviderKeyWrapProtocolOutput);
      process.stdout.write("\n");
    });
  cdh
    .command("secure-mount")
    .option(...sock)
    .requiredOption("--storage-path <path>", "JSON {volume_type, options, flags, mount_point}")
    .action(async (o: { socket: string; storagePath: string }) => {
      const s = JSON.parse(readFileSync(o.storagePath, "utf8")) as {
        volume_type: string;
        options: Record<string, string>;
        flags?: string[];
        mount_point: string;
      };
      await callOnce(
        o.socket,
        CDH_SERVICES.secureMount,
        "SecureMount",
        CdhMessages.SecureMountRequest,
        CdhMessages.SecureMountResponse,
        {
          volumeType: s.volume_type,
          options: s.options,
          flags: s.flags ?? [],
          mountPoint: s.mount_point,
        },
      );
    });
}
