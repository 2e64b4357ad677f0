/** `coco peerpod-adaptor`: the node's peer-pods adaptor (cloud-api-adaptor's role). */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { HostError } from "../host/errors.js";
import {
  createAdaptor,
  createProcessProvider,
  type Provider,
  parseInstanceTypes,
  serveHypervisor,
} from "../host/peerpod/index.js";
import { DEFAULT_HYPERVISOR_SOCKET, PEERPOD_DIR } from "../protocol/peerpod/index.js";

interface AdaptorFlags {
  provider: string;
  stateDir: string;
  socket?: string;
  adaptorId?: string;
  instanceTypes: string;
  defaultInstanceType?: string;
  images: string;
  defaultImage: string;
  initdata?: string;
  insecureRegistry: string[];
  gcInterval: string;
  startTimeout: string;
  processDir?: string;
  libvirtUri?: string;
  libvirtPool?: string;
  libvirtPoolDir?: string;
  podvmImageDir?: string;
}

async function makeProvider(f: AdaptorFlags): Promise<Provider> {
  if (f.provider === "process")
    return createProcessProvider({ dir: f.processDir ?? join(f.stateDir, "instances") });
  if (f.provider === "libvirt") {
    const { createLibvirtProvider } = await import("../host/peerpod/libvirt/index.js");
    return createLibvirtProvider({
      ...(f.libvirtUri ? { uri: f.libvirtUri } : {}),
      ...(f.libvirtPool ? { pool: f.libvirtPool } : {}),
      ...(f.libvirtPoolDir ? { poolDir: f.libvirtPoolDir } : {}),
      ...(f.podvmImageDir ? { imageDir: f.podvmImageDir } : {}),
    });
  }
  throw new HostError(
    "ERR_PEERPOD_ADAPTOR",
    `unknown provider ${JSON.stringify(f.provider)}: use libvirt or process`,
  );
}

/** Registers `coco peerpod-adaptor`. */
export function registerPeerpodAdaptor(program: Command): void {
  program
    .command("peerpod-adaptor")
    .description(
      "run the node's peer-pods adaptor: Kata's remote hypervisor service that makes one VM per pod through a provider (libvirt, process) and proxies the agent to it",
    )
    .option(
      "--provider <name>",
      "libvirt or process (a local process per pod: development)",
      "libvirt",
    )
    .option("--state-dir <dir>", "records, CA, agent sockets", PEERPOD_DIR)
    .option(
      "--socket <path>",
      `the hypervisor socket (default ${DEFAULT_HYPERVISOR_SOCKET} under the default state dir, else <state-dir>/hypervisor.sock)`,
    )
    .option(
      "--adaptor-id <id>",
      "tags this adaptor's VMs; garbage collection touches only these (default: hostname)",
    )
    .option(
      "--instance-types <list>",
      "NAME=VCPUS:MEMORY_MIB,… the instance types offered",
      "small=1:1024,default=2:2048,large=4:4096",
    )
    .option("--default-instance-type <name>", "the type for pods that ask for none", "default")
    .option("--images <list>", "pod VM images pods may ask for (annotation …hypervisor.image)", "")
    .option("--default-image <name>", "the pod VM image used by default", "default")
    .option("--initdata <file>", "init-data TOML for pods without one (upstream's INITDATA)")
    .option(
      "--insecure-registry <host:port>",
      "a loopback registry every VM reaches over HTTP (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--gc-interval <seconds>", "garbage collection period (0: only at start)", "30")
    .option("--start-timeout <seconds>", "StartVM waits this long for the VM's agent", "600")
    .option(
      "--process-dir <dir>",
      "process provider: where instances live (default <state-dir>/instances)",
    )
    .option("--libvirt-uri <uri>", "libvirt provider: the connection URI (default qemu:///system)")
    .option(
      "--libvirt-pool <name>",
      "libvirt provider: the storage pool for per-VM volumes (default coco-podvm)",
    )
    .option(
      "--libvirt-pool-dir <dir>",
      "libvirt provider: the pool's folder when it must be created",
    )
    .option(
      "--podvm-image-dir <dir>",
      "libvirt provider: the pod VM image (scripts/build-podvm-image; default .tools/podvm)",
    )
    .action(async (f: AdaptorFlags) => {
      const log = (line: string) => process.stderr.write(`coco peerpod-adaptor: ${line}\n`);
      const provider = await makeProvider(f);
      const why = await provider.unavailable();
      if (why)
        throw new HostError(
          "ERR_PEERPOD_ADAPTOR",
          `the ${provider.name} provider cannot run here: ${why}`,
        );
      const types = parseInstanceTypes(f.instanceTypes);
      const adaptor = await createAdaptor({
        provider,
        stateDir: f.stateDir,
        adaptorId: f.adaptorId ?? hostname(),
        instanceTypes: {
          types,
          defaultType: f.defaultInstanceType ?? "default",
          images: f.images.split(",").filter((x) => x !== ""),
          defaultImage: f.defaultImage,
        },
        ...(f.initdata ? { defaultInitData: new Uint8Array(readFileSync(f.initdata)) } : {}),
        insecureRegistries: f.insecureRegistry,
        startTimeoutMs: Number(f.startTimeout) * 1000,
        log,
      });
      const gc = async () => {
        const r = await adaptor.collectGarbage();
        if (r.deleted.length || r.adopted.length)
          log(
            `garbage collection: deleted ${r.deleted.length} (${r.deleted.map((d) => `${d.id}: ${d.why}`).join("; ")}), re-attached ${r.adopted.length}`,
          );
      };
      await gc();
      const socket =
        f.socket ??
        (f.stateDir === PEERPOD_DIR
          ? DEFAULT_HYPERVISOR_SOCKET
          : join(f.stateDir, "hypervisor.sock"));
      const server = await serveHypervisor(adaptor, socket);
      log(
        `serving on ${socket} (provider ${provider.name}, adaptor id ${f.adaptorId ?? hostname()})`,
      );
      const every = Number(f.gcInterval) * 1000;
      const timer =
        every > 0
          ? setInterval(() => {
              gc().catch((err: Error) => log(`garbage collection failed: ${err.message}`));
            }, every)
          : undefined;
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      if (timer) clearInterval(timer);
      await server.close();
      // The VMs keep running: a restarted adaptor re-attaches them (or deletes those whose pod went).
      await adaptor.close();
      log("stopped (pod VMs keep running)");
    });
}
