/**
 * `coco aa`: run the Attestation Agent (`run`, flags as upstream's ttrpc-aa) and talk to a
 * running one (`get-tee`, `get-evidence`, `get-token`, `extend-runtime-measurement`, as
 * upstream's ttrpc-aa-client).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { configFromKbcParams, kbcParamsFromCmdline, loadAaConfig } from "../guest/aa/config.js";
import { AA_DEFAULT_SOCKET, startAttestationAgent } from "../guest/aa/daemon.js";
import { AA_SERVICE, AaMessages } from "../protocol/ttrpc/index.js";
import { callOnce, waitForSignal } from "./guest-common.js";

function kernelCmdline(): string {
  try {
    return readFileSync("/proc/cmdline", "utf8");
  } catch {
    return "";
  }
}

/** Registers `coco aa`. */
export function registerAa(program: Command): void {
  const aa = program.command("aa").description("Attestation Agent (ttrpc service and client)");
  aa.command("run")
    .description("run the Attestation Agent")
    .option("-a, --attestation_sock <addr>", "ttrpc listen address", AA_DEFAULT_SOCKET)
    .option("-c, --config-file <path>", "AA config (TOML, or JSON by extension)")
    .option("-i, --initdata-digest <b64>", "init-data digest (standard base64)")
    .option(
      "-t, --initdata-toml <path>",
      "init-data TOML (takes precedence over --initdata-digest)",
    )
    .option("--eventlog-dir <dir>", "AAEL folder", "/run/attestation-agent")
    .action(
      async (o: {
        attestation_sock: string;
        configFile?: string;
        initdataDigest?: string;
        initdataToml?: string;
        eventlogDir: string;
      }) => {
        const config = o.configFile
          ? loadAaConfig(o.configFile)
          : configFromKbcParams(process.env.AA_KBC_PARAMS ?? kbcParamsFromCmdline(kernelCmdline()));
        const running = await startAttestationAgent({
          socket: o.attestation_sock,
          config,
          ...(o.initdataToml ? { initDataToml: o.initdataToml } : {}),
          ...(!o.initdataToml && o.initdataDigest
            ? { initDataDigest: Buffer.from(o.initdataDigest, "base64") }
            : {}),
          eventLogDir: o.eventlogDir,
          log: (l) => process.stderr.write(`${l}\n`),
        });
        await waitForSignal(running.close);
      },
    );
  const sockOpt = ["-a, --attestation_sock <addr>", "AA address", AA_DEFAULT_SOCKET] as const;
  aa.command("get-tee")
    .option(...sockOpt)
    .action(async (o: { attestation_sock: string }) => {
      const r = await callOnce(
        o.attestation_sock,
        AA_SERVICE,
        "GetTeeType",
        AaMessages.GetTeeTypeRequest,
        AaMessages.GetTeeTypeResponse,
        {},
      );
      process.stdout.write(`${r.tee}\n`);
    });
  aa.command("get-evidence")
    .option(...sockOpt)
    .requiredOption("--runtime-data <b64>", "report data (standard base64)")
    .action(async (o: { attestation_sock: string; runtimeData: string }) => {
      const r = await callOnce(
        o.attestation_sock,
        AA_SERVICE,
        "GetEvidence",
        AaMessages.GetEvidenceRequest,
        AaMessages.GetEvidenceResponse,
        {
          RuntimeData: Buffer.from(o.runtimeData, "base64"),
        },
      );
      process.stdout.write(`${Buffer.from(r.Evidence).toString("utf8")}\n`);
    });
  aa.command("get-token")
    .option(...sockOpt)
    .option("--token-type <type>", "kbs or coco_as", "kbs")
    .action(async (o: { attestation_sock: string; tokenType: string }) => {
      const r = await callOnce(
        o.attestation_sock,
        AA_SERVICE,
        "GetToken",
        AaMessages.GetTokenRequest,
        AaMessages.GetTokenResponse,
        { TokenType: o.tokenType },
      );
      process.stdout.write(`${Buffer.from(r.Token).toString("utf8")}\n`);
    });
  aa.command("extend-runtime-measurement")
    .option(...sockOpt)
    .requiredOption("-d, --domain <d>")
    .requiredOption("-o, --operation <op>")
    .requiredOption("-c, --content <c>")
    .option("-r, --register-index <n>", "PCR index (default: init_pcr)")
    .action(
      async (o: {
        attestation_sock: string;
        domain: string;
        operation: string;
        content: string;
        registerIndex?: string;
      }) => {
        const r = await callOnce(
          o.attestation_sock,
          AA_SERVICE,
          "ExtendRuntimeMeasurement",
          AaMessages.ExtendRuntimeMeasurementRequest,
          AaMessages.ExtendRuntimeMeasurementResponse,
          {
            Domain: o.domain,
            Operation: o.operation,
            Content: o.content,
            ...(o.registerIndex !== undefined ? { RegisterIndex: BigInt(o.registerIndex) } : {}),
          },
        );
        process.stdout.write(`${["OK", "NOT_SUPPORTED", "NOT_ENABLED"][r.Result] ?? r.Result}\n`);
      },
    );
}
