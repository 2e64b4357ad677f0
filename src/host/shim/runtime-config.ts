/**
 * The runtime handler's configuration, as containerd's CRI passes it to a non-runc runtime: the
 * handler's `options` table becomes `runtimeoptions.v1.Options` in the task's Create request
 * (`ConfigPath = "<file>"`, or the table itself as a TOML body), the way Kata's handlers point at
 * their configuration file. `coco install containerd` writes one file per handler
 * (`handler = "coco-dev"`, `runtime_class = "coco-dev"`: the sandbox the handler means), parsed
 * by the installer's own `parseRuntimeConfig`.
 */
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { OptionsSchema } from "../../protocol/proto/containerd/types/runtimeoptions/v1/api_pb.js";
import { HostError } from "../errors.js";
import { parseRuntimeConfig, type RuntimeConfig } from "../install/containerd-config.js";

/** What the shim takes from a handler's configuration (the file `coco install containerd` writes). */
export type ShimRuntimeConfig = RuntimeConfig;

const TYPE_URL = "runtimeoptions.v1.Options";

/**
 * The configuration carried by a Create request's `options` (`runtimeoptions.v1.Options`):
 * `config_path` is read, else `config_body`; other option types (or none) give undefined.
 */
export function runtimeConfigOf(
  options: { typeUrl: string; value: Uint8Array } | undefined,
): ShimRuntimeConfig | undefined {
  if (!options || options.value.length === 0) return undefined;
  if (options.typeUrl.replace(/^.*\//, "") !== TYPE_URL) return undefined;
  let o: ReturnType<typeof fromBinary<typeof OptionsSchema>>;
  try {
    o = fromBinary(OptionsSchema, options.value);
  } catch (err) {
    throw new HostError(
      "ERR_SHIM_SPEC",
      `runtime options do not decode: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (o.configPath !== "") {
    let text: string;
    try {
      text = readFileSync(o.configPath, "utf8");
    } catch (err) {
      throw new HostError(
        "ERR_SHIM_SPEC",
        `cannot read the runtime handler's configuration ${o.configPath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return parseRuntimeConfig(text);
  }
  if (o.configBody.length > 0) return parseRuntimeConfig(new TextDecoder().decode(o.configBody));
  return undefined;
}
