#!/usr/bin/env node
/**
 * `api-server-rest`: drop-in for upstream's guest-components REST API server (installed as
 * /usr/local/bin/api-server-rest, started by the Kata agent with `--features <f>`). Same flags
 * (`-b/--bind`, `-f/--features`, `-c/--cdh_addr`, `-a/--aa_addr`) and `RUST_LOG`.
 */
import type { Command } from "commander";
import { AA_SOCKET, CDH_SOCKET } from "../../guest/cdh/config.js";
import { type ApiFeature, startApiServer } from "../../guest/cdh/rest/api-server.js";
import { waitForSignal } from "../guest-common.js";
import { DropInError, dropInProgram, isMain, runDropIn, stderrLogger } from "./common.js";

/** Builds the `api-server-rest` program. */
export function apiServerRestProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return dropInProgram("api-server-rest", "REST API server for workloads (loopback callers only)")
    .option("-b, --bind <addr>", "Bind address for API Server", "127.0.0.1:8006")
    .option(
      "-f, --features <f>",
      "Features for rest API Server, allowed options: resource, attestation, all",
      "resource",
    )
    .option(
      "-c, --cdh_addr <addr>",
      "Listen address of confidential-data-hub TTRPC Service",
      CDH_SOCKET,
    )
    .option("-a, --aa_addr <addr>", "Listen address of attestation-agent TTRPC Service", AA_SOCKET)
    .action(async (o: { bind: string; features: string; cdh_addr: string; aa_addr: string }) => {
      const log = stderrLogger("api-server-rest", undefined, env);
      if (!["resource", "attestation", "all"].includes(o.features)) {
        throw new DropInError(
          "ERR_DROPIN_USAGE",
          "Unknown features. Supported features are: resource, attestation, all.",
        );
      }
      if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(o.bind)) {
        throw new DropInError(
          "ERR_DROPIN_USAGE",
          `--bind ${JSON.stringify(o.bind.slice(0, 80))} must be an IP socket address (ip:port), as upstream`,
        );
      }
      log(`Starting API server on ${o.bind} with features ${o.features}`);
      const s = await startApiServer({
        bind: o.bind.replace(/^\[(.*)\](:\d+)$/, "$1$2"),
        features: o.features as ApiFeature,
        cdhAddr: o.cdh_addr,
        aaAddr: o.aa_addr,
      });
      log(`API Server listening on ${s.url}`);
      await waitForSignal(s.close);
    });
}

if (isMain(import.meta.url)) {
  await runDropIn("api-server-rest", apiServerRestProgram());
}
