/**
 * The `start` handshake of a containerd runtime v2 shim (containerd docs/runtime-v2.md, "start").
 *
 * containerd 2.3+ writes `BootstrapParams` (binary protobuf) on stdin and reads
 * `BootstrapResult` (binary protobuf) on stdout. Older containerd (up to 2.2) passes the same
 * facts as flags (`-namespace -address -publish-binary -id`) and environment (`TTRPC_ADDRESS`,
 * `GRPC_ADDRESS`), writes the runtime options (a `google.protobuf.Any`, often nothing) on stdin,
 * and reads the address back as text or as `{"version":3,"address":…,"protocol":"ttrpc"}`.
 * containerd 2.3 sends both; we answer in the form the stdin we got asks for.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type BootstrapParams,
  BootstrapParamsSchema,
  BootstrapResultSchema,
} from "../../protocol/proto/containerd/runtime/bootstrap/v1/bootstrap_pb.js";
import { HostError } from "../errors.js";

/** The task API version we serve (containerd.task.v3; v2 is served too, same messages). */
export const TASK_API_VERSION = 3;

/** Where containerd's own shims put their sockets when no socket_dir is given. */
export const DEFAULT_SOCKET_DIR = "/run/containerd/s";

/** The flags containerd passes to every shim invocation. */
export interface ShimFlags {
  namespace: string;
  /** containerd's gRPC address (`-address`). */
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  debug: boolean;
  /** `start`, `delete`, or "" for the long-running server. */
  action: string;
  version: boolean;
  info: boolean;
  /** Set by our own `start` for the server process: the socket to serve. */
  socket: string;
}

/** Parses Go-flag-style arguments (`-name value`, `--name=value`, booleans bare). */
export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const f: ShimFlags = {
    namespace: "",
    address: "",
    publishBinary: "",
    id: "",
    bundle: "",
    debug: false,
    action: "",
    version: false,
    info: false,
    socket: "",
  };
  const strings: Record<string, keyof ShimFlags> = {
    namespace: "namespace",
    address: "address",
    "publish-binary": "publishBinary",
    id: "id",
    bundle: "bundle",
    socket: "socket",
  };
  const bools: Record<string, keyof ShimFlags> = {
    debug: "debug",
    v: "version",
    version: "version",
    info: "info",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("-")) {
      f.action = a;
      break; // Go's flag package stops at the first non-flag argument
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const s = strings[name];
    const b = bools[name];
    if (s !== undefined) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new HostError("ERR_SHIM_ARGS", `flag -${name} needs a value`);
      (f as unknown as Record<string, string>)[s] = v;
    } else if (b !== undefined) {
      (f as unknown as Record<string, boolean>)[b] = inline === undefined || inline === "true";
    } else {
      throw new HostError("ERR_SHIM_ARGS", `unknown flag ${a}`);
    }
  }
  return f;
}

/** What the shim learned at start, whichever protocol containerd spoke. */
export interface StartParams {
  /** True when stdin held BootstrapParams (reply in binary BootstrapResult). */
  bootstrap: boolean;
  id: string;
  namespace: string;
  ttrpcAddress: string;
  grpcAddress: string;
  socketDir: string;
  containerdVersion: string;
}

/**
 * Reads what containerd sent. Stdin is BootstrapParams when it decodes and names the same id and
 * namespace as the flags (a legacy runtime-options `Any` can also decode as protobuf, but never
 * carries both); otherwise the legacy flags and environment are used.
 */
export function readStartParams(
  flags: ShimFlags,
  stdin: Uint8Array,
  env: NodeJS.ProcessEnv,
): StartParams {
  let params: BootstrapParams | undefined;
  if (stdin.length > 0) {
    try {
      const p = fromBinary(BootstrapParamsSchema, stdin);
      if (p.instanceId !== "" && p.instanceId === flags.id && p.namespace === flags.namespace)
        params = p;
    } catch {
      // not BootstrapParams: legacy runtime options, which this shim does not use
    }
  }
  if (params) {
    return {
      bootstrap: true,
      id: params.instanceId,
      namespace: params.namespace,
      ttrpcAddress: params.containerdTtrpcAddress,
      grpcAddress: params.containerdGrpcAddress,
      socketDir: params.socketDir ?? DEFAULT_SOCKET_DIR,
      containerdVersion: params.containerdVersion,
    };
  }
  if (flags.id === "" || flags.namespace === "")
    throw new HostError(
      "ERR_SHIM_ARGS",
      "shim start needs -id and -namespace (or BootstrapParams on stdin)",
    );
  return {
    bootstrap: false,
    id: flags.id,
    namespace: flags.namespace,
    ttrpcAddress: env.TTRPC_ADDRESS ?? "",
    grpcAddress: env.GRPC_ADDRESS ?? flags.address,
    socketDir: DEFAULT_SOCKET_DIR,
    containerdVersion: "",
  };
}

/**
 * The socket a pod's shim serves on: `unix://<dir>/<sha256(address/ns/key)>`, as containerd's
 * own shims name theirs, so two containerd instances never share a shim.
 */
export function shimSocketAddress(
  socketDir: string,
  grpcAddress: string,
  ns: string,
  key: string,
): string {
  const d = createHash("sha256")
    .update(join(grpcAddress, ns, key))
    .digest("hex");
  return `unix://${join(socketDir, d)}`;
}

/** The start reply: binary BootstrapResult, or the legacy JSON. */
export function startReply(params: StartParams, address: string): Uint8Array {
  if (params.bootstrap) {
    return toBinary(
      BootstrapResultSchema,
      create(BootstrapResultSchema, { version: TASK_API_VERSION, address, protocol: "ttrpc" }),
    );
  }
  return new TextEncoder().encode(
    JSON.stringify({ version: TASK_API_VERSION, address, protocol: "ttrpc" }),
  );
}
