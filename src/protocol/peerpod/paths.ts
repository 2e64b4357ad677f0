/**
 * Fixed names of the peer-pod wire contract, as cloud-api-adaptor defines them
 * (`src/cloud-api-adaptor/pkg/paths`, `pkg/forwarder`, kata `remote.proto`).
 */

/** Where the pod VM keeps what user-data provisioned (a tmpfs in the VM). */
export const PEERPOD_DIR = "/run/peerpod";
/** The agent-protocol-forwarder's config, written from user-data. */
export const APF_CONFIG_PATH = "/run/peerpod/apf.json";
/** The init-data as user-data carries it: standard base64 of gzip of the TOML. */
export const USER_DATA_INITDATA_PATH = "/run/peerpod/initdata";
/** The init-data digest (hex) derived in the VM, for attesters that read it. */
export const INITDATA_DIGEST_PATH = "/run/peerpod/initdata.digest";
/** Registry credentials (upstream writes them from the pod's imagePullSecrets). */
export const AUTH_FILE_PATH = "/run/peerpod/auth.json";
/** Attestation Agent and CDH configs some providers write directly. */
export const AA_CONFIG_PATH = "/run/peerpod/aa.toml";
export const CDH_CONFIG_PATH = "/run/peerpod/cdh.toml";

/**
 * The only `write_files` paths the pod VM accepts from user-data (upstream `WriteFilesList`, less
 * the scratch-space marker: no encrypted scratch disk here). Anything else is refused by name.
 */
export const USER_DATA_ALLOWED_PATHS: readonly string[] = [
  AA_CONFIG_PATH,
  CDH_CONFIG_PATH,
  APF_CONFIG_PATH,
  AUTH_FILE_PATH,
  USER_DATA_INITDATA_PATH,
];

/** The forwarder's TCP port (upstream DefaultListenPort). */
export const FORWARDER_PORT = 15150;
/** The NoCloud volume label cloud-init looks for, and the user-data file name on it. */
export const CIDATA_LABEL = "cidata";
export const USER_DATA_FILE = "user-data";
export const META_DATA_FILE = "meta-data";

/** The adaptor's ttrpc socket Kata's remote hypervisor dials (upstream default). */
export const DEFAULT_HYPERVISOR_SOCKET = "/run/peerpod/hypervisor.sock";
/** The per-sandbox agent socket name inside the adaptor's pods folder (upstream proxy.SocketName). */
export const AGENT_PROXY_SOCKET = "agent.ttrpc";

/** Pod annotations the adaptor reads (Kata's hypervisor annotations, CRI's sandbox names). */
export const PEERPOD_ANNOTATIONS = {
  /** The init-data TOML. Kata's runtime passes it decoded (plain text) to the adaptor. */
  initData: "io.katacontainers.config.hypervisor.cc_init_data",
  /** The instance type (flavor): Kata's `machine_type` reused by peer pods. */
  machineType: "io.katacontainers.config.hypervisor.machine_type",
  /** The pod VM image name: Kata's `image` reused by peer pods. */
  image: "io.katacontainers.config.hypervisor.image",
  vcpus: "io.katacontainers.config.hypervisor.default_vcpus",
  /** MiB, as Kata's default_memory. */
  memory: "io.katacontainers.config.hypervisor.default_memory",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  /**
   * coco-ts only, set by the `remote` sandbox: a host file that exists for as long as the pod
   * does (its content is the sandbox id). The adaptor's garbage collection deletes the VM of a
   * pod whose owner file is gone. Kata's runtime does not send it; without it a VM lives until
   * StopVM.
   */
  owner: "io.coco-ts.peerpod.owner",
  /** coco-ts only: loopback registries the guest reaches over plain HTTP (development). */
  insecureRegistries: "io.coco-ts.peerpod.insecure-registries",
} as const;
