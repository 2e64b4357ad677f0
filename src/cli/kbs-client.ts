/**
 * `coco kbs-client`: the same client as the upstream-named `kbs-client` drop-in
 * (`bin/kbs-client.ts`), built by the same code: `attest` and `get-resource` run the RCAR
 * handshake with this machine's attester; `config …` calls Trustee's admin API (upstream's
 * subcommands, plus ours: reference values from a measured guest with provenance and expiry,
 * and attestation events). Unlike the drop-in it never echoes an uploaded secret, and it also
 * takes `--init-data <toml>`.
 */
import type { Command } from "commander";
import { addKbsClientCommands } from "./bin/kbs-client.js";

/** Registers `coco kbs-client`. */
export function registerKbsClient(program: Command): void {
  const kc = program
    .command("kbs-client")
    .description("talk to a KBS: attest, get-resource, admin config, reference values, events");
  addKbsClientCommands(kc, process.env, "coco");
}
