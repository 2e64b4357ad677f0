/**
 * The provider seam of the peer-pods adaptor: how one cloud (or libvirt, or local processes)
 * makes pod VMs. Modelled on cloud-api-adaptor's `provider.Provider` (CreateInstance,
 * DeleteInstance), with the lifecycle split into create/start/stop/delete and a `list` for
 * garbage collection, which upstream leaves to a Kubernetes controller (peerpod-ctrl). Every
 * provider runs the shared conformance suite (provider.suite.ts).
 *
 * A provider is host code: it never holds a workload secret. It receives user-data (cloud-init
 * `#cloud-config` text: the forwarder's TLS material and the pod's init-data) and the TEE launch
 * field to set, and must deliver both unchanged to the VM.
 */

/** What the adaptor asks for: one pod VM. */
export interface InstanceSpec {
  /** Unique instance name: a DNS label of at most 63 characters. */
  name: string;
  sandboxId: string;
  podName: string;
  podNamespace: string;
  /** The instance type chosen (a provider's flavour name; `default` where there is one size). */
  instanceType: string;
  vcpus: number;
  memoryMiB: number;
  /** The pod VM image (provider-specific name; empty = the provider's default). */
  image: string;
  /** User-data for the VM, delivered through the provider's user-data channel unchanged. */
  userData: string;
  /**
   * The sample TEE's launch field (standard base64 of the init-data digest): set by the
   * provider as a VMM sets TDX MRCONFIGID or SNP HOST_DATA. Absent = no init-data.
   */
  launchField?: string;
  /** Loopback registries the VM reaches over plain HTTP (development). */
  insecureRegistries: string[];
  /** Host loopback ports the VM must reach (Trustee, registries on this host; development). */
  forwardPorts: number[];
  /** Stored with the instance and returned by {@link Provider.list}. */
  tags: Record<string, string>;
}

/** Where the adaptor reaches an instance's forwarder. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A created instance. */
export interface Instance {
  /** The provider's id for it (what start/stop/delete take). */
  id: string;
  name: string;
  endpoint: Endpoint;
}

/** What {@link Provider.list} knows about an instance. */
export interface InstanceInfo {
  id: string;
  name: string;
  state: "running" | "stopped";
  tags: Record<string, string>;
}

/** One way of making pod VMs (a cloud, libvirt, local processes). */
export interface Provider {
  /** The provider's name (`libvirt`, `process`). */
  readonly name: string;
  /** A reason this provider cannot work here, or false. */
  unavailable(): Promise<string | false>;
  /** Creates the instance (disks, user-data, network) without starting it. */
  create(spec: InstanceSpec, signal?: AbortSignal): Promise<Instance>;
  /** Boots it. */
  start(id: string, signal?: AbortSignal): Promise<void>;
  /** Powers it off; the instance and its disks remain. */
  stop(id: string): Promise<void>;
  /** Stops it if needed and removes it and everything made for it; an unknown id is no error. */
  delete(id: string): Promise<void>;
  /** Every instance carrying `tags` (all of them: a subset match), for garbage collection. */
  list(tags: Record<string, string>): Promise<InstanceInfo[]>;
  /** The last lines of the instance's console, for error messages (never secrets). */
  console(id: string): string;
}
