import type { Command } from "commander";

/** Registers one command group's subcommands on the root program. */
export type RegisterGroup = (program: Command) => void;

/**
 * The subcommand groups of `coco`, one module per group, loaded lazily: `coco NAME …` imports
 * only NAME's module, so a command starts fast and one group's dependencies cannot break
 * another's. A group appears here only once something real stands behind it.
 */
export const commandGroups: Readonly<Record<string, () => Promise<RegisterGroup>>> = {
  attest: async () => (await import("./attest.js")).registerAttest,
  trustee: async () => (await import("./trustee.js")).registerTrustee,
  aa: async () => (await import("./aa.js")).registerAa,
  cdh: async () => (await import("./cdh.js")).registerCdh,
  secret: async () => (await import("./secret.js")).registerSecret,
  "kbs-client": async () => (await import("./kbs-client.js")).registerKbsClient,
  rego: async () => (await import("./rego.js")).registerRego,
  image: async () => (await import("./image.js")).registerImage,
  run: async () => (await import("./run.js")).registerRun,
  ps: async () => (await import("./ps.js")).registerPs,
  exec: async () => (await import("./exec.js")).registerExec,
  logs: async () => (await import("./logs.js")).registerLogs,
  rm: async () => (await import("./rm.js")).registerRm,
  policy: async () => (await import("./policy.js")).registerPolicy,
  install: async () => (await import("./install.js")).registerInstall,
  uninstall: async () => (await import("./install.js")).registerUninstall,
  "peerpod-adaptor": async () => (await import("./peerpod-adaptor.js")).registerPeerpodAdaptor,
};
