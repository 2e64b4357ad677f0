/**
 * The peer-pods adaptor (`coco peerpod-adaptor`, cloud-api-adaptor's role): one per node, it
 * implements Kata's remote hypervisor service. CreateVM reads the pod's annotations, chooses an
 * instance type and image, and prepares the VM's user-data (the forwarder's TLS material and the
 * pod's init-data) and its TEE launch field (the init-data digest); StartVM has the provider
 * create and boot the VM and proxies the runtime's agent socket to the VM's forwarder; StopVM
 * deletes it. Every VM is recorded before it is made, so garbage collection after a restart
 * finds the VMs of pods that are gone and deletes them, and re-attaches the others.
 *
 * Host code: it handles init-data (not secret) and transport keys, never a workload secret.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTlsCa, issueTlsCertificate, type PemPair } from "../../crypto/tls-ca.js";
import { encodeInitDataAnnotation } from "../../protocol/agent/index.js";
import {
  AGENT_PROXY_SOCKET,
  APF_CONFIG_PATH,
  buildApfConfig,
  buildCloudConfig,
  PEERPOD_ANNOTATIONS,
  USER_DATA_INITDATA_PATH,
  type WriteFile,
} from "../../protocol/peerpod/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { encodeSampleLaunchField } from "../../tee/sample/index.js";
import { HostError } from "../errors.js";
import { sampleLaunchField } from "../sandbox/process.js";
import { loopbackPorts } from "../sandbox/qemu-args.js";
import { type AgentProxy, startAgentProxy } from "./agent-proxy.js";
import { type InstanceTypeConfig, selectInstance } from "./instance-type.js";
import { instanceName, TAGS } from "./names.js";
import type { InstanceSpec, Provider } from "./provider.js";
import { createRecordStore, isSandboxId, type SandboxRecord } from "./records.js";

/** How the adaptor runs. */
export interface AdaptorOptions {
  provider: Provider;
  /** The adaptor's folder: records, CA, per-sandbox agent sockets. */
  stateDir: string;
  /** Tags every VM; garbage collection touches only VMs with this adaptor id (default: hostname). */
  adaptorId: string;
  instanceTypes: InstanceTypeConfig;
  /** Instance names start with this (default `podvm`). */
  namePrefix?: string;
  /** Init-data TOML for pods that carry none (upstream's INITDATA); default none. */
  defaultInitData?: Uint8Array;
  /** Loopback registries every VM may reach over plain HTTP (development). */
  insecureRegistries?: string[];
  /** StartVM waits this long for the agent to answer through the forwarder (default 600 s). */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

/** What garbage collection did. */
export interface GcReport {
  deleted: { id: string; why: string }[];
  adopted: string[];
}

interface Live {
  record: SandboxRecord;
  userData?: string;
  proxy?: AgentProxy;
}

const reqError = (msg: string) => new HostError("ERR_PEERPOD_REQUEST", msg);

/** Validates a loopback registry `host:port` (development plumbing only). */
function loopbackRegistry(r: string): boolean {
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/.test(r);
}

/** The adaptor's CA material, created on first use and kept in `<stateDir>/ca` (0600 files). */
async function loadCa(
  dir: string,
): Promise<{ serverCa: PemPair; client: PemPair; clientCaPem: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const read = (n: string): PemPair | undefined => {
    try {
      return {
        certPem: readFileSync(join(dir, `${n}.crt`), "utf8"),
        keyPem: readFileSync(join(dir, `${n}.key`), "utf8"),
      };
    } catch {
      return undefined;
    }
  };
  const write = (n: string, p: PemPair) => {
    for (const [ext, text] of [
      ["key", p.keyPem],
      ["crt", p.certPem],
    ] as const) {
      const tmp = join(dir, `.${n}.${ext}.tmp`);
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, join(dir, `${n}.${ext}`));
    }
  };
  let serverCa = read("server-ca");
  if (!serverCa) {
    serverCa = await createTlsCa("coco peerpod-adaptor: pod VM forwarders");
    write("server-ca", serverCa);
  }
  let clientCa = read("client-ca");
  let client = read("client");
  if (!clientCa || !client) {
    clientCa = await createTlsCa("coco peerpod-adaptor: clients");
    client = await issueTlsCertificate(clientCa, { client: "coco peerpod-adaptor" });
    write("client-ca", clientCa);
    write("client", client);
  }
  return { serverCa, client, clientCaPem: clientCa.certPem };
}

/** The adaptor (see the module comment). `close()` stops its proxies; VMs keep running. */
export async function createAdaptor(o: AdaptorOptions) {
  const log = o.log ?? (() => {});
  const store = createRecordStore(join(o.stateDir, "records"));
  const podsDir = join(o.stateDir, "pods");
  mkdirSync(podsDir, { recursive: true, mode: 0o700 });
  const ca = await loadCa(join(o.stateDir, "ca"));
  const live = new Map<string, Live>();
  const busy = new Set<string>();
  const startTimeout = o.startTimeoutMs ?? 600_000;

  // unix socket paths are limited to 107 bytes: a long state folder gets a hashed pod folder.
  const podDir = (id: string) =>
    join(podsDir, id).length + AGENT_PROXY_SOCKET.length < 100
      ? join(podsDir, id)
      : join(podsDir, createHash("sha256").update(id).digest("hex").slice(0, 24));

  const openProxy = async (r: SandboxRecord): Promise<AgentProxy> => {
    if (!r.endpoint)
      throw new HostError("ERR_PEERPOD_START", `sandbox ${r.sandboxId} has no endpoint`);
    return startAgentProxy({
      socketPath: r.agentSocketPath,
      endpoint: r.endpoint,
      serverName: r.spec.name,
      serverCaPem: ca.serverCa.certPem,
      client: ca.client,
      log,
    });
  };

  const forget = async (id: string, instanceId: string | undefined, why: string) => {
    const l = live.get(id);
    live.delete(id);
    await l?.proxy?.close();
    if (instanceId) {
      try {
        await o.provider.delete(instanceId);
        log(`deleted instance ${instanceId} (sandbox ${id}): ${why}`);
      } catch (err) {
        log(`could not delete instance ${instanceId}: ${(err as Error).message}`);
        throw err;
      }
    }
    store.remove(id);
    rmSync(podDir(id), { recursive: true, force: true });
  };

  /** True when the pod a record belongs to has gone (its owner file or network namespace). */
  const podGone = (r: SandboxRecord): string | false => {
    if (r.ownerPath) {
      try {
        if (readFileSync(r.ownerPath, "utf8").trim() !== r.sandboxId)
          return `owner ${r.ownerPath} names another sandbox`;
        return false;
      } catch {
        return `owner ${r.ownerPath} is gone`;
      }
    }
    if (r.netnsPath)
      return existsSync(r.netnsPath) ? false : `network namespace ${r.netnsPath} is gone`;
    return false;
  };

  async function createVM(req: {
    id: string;
    annotations: Record<string, string>;
    networkNamespacePath: string;
  }): Promise<{ agentSocketPath: string }> {
    const id = req.id;
    if (!isSandboxId(id))
      throw reqError(`CreateVM: invalid sandbox id ${JSON.stringify(id.slice(0, 80))}`);
    if (live.has(id) || store.load(id)) throw reqError(`CreateVM: sandbox ${id} already exists`);
    const a = req.annotations;
    let podName = a[PEERPOD_ANNOTATIONS.sandboxName] ?? "";
    // CRI-O names sandboxes k8s_<pod>_<namespace>_<uid>_<attempt> (as upstream reads it).
    const crio = podName.split("_");
    if (crio.length > 1 && crio[0] === "k8s") podName = crio[1] ?? "";
    const podNamespace = a[PEERPOD_ANNOTATIONS.sandboxNamespace] ?? "";
    if (!podName)
      throw reqError(
        `CreateVM: annotation ${PEERPOD_ANNOTATIONS.sandboxName} (the pod name) is missing`,
      );
    if (!podNamespace)
      throw reqError(`CreateVM: annotation ${PEERPOD_ANNOTATIONS.sandboxNamespace} is missing`);
    const choice = selectInstance(a, o.instanceTypes);
    // Kata's runtime passes the init-data TOML decoded; upstream re-encodes it for user-data.
    const tomlText = a[PEERPOD_ANNOTATIONS.initData];
    const toml =
      tomlText !== undefined && tomlText !== ""
        ? new TextEncoder().encode(tomlText)
        : o.defaultInitData;
    // Measured as the launcher measures it; init-data that does not parse refuses the VM.
    const launchField = toml ? encodeSampleLaunchField(sampleLaunchField(toml)) : undefined;
    const asked = (a[PEERPOD_ANNOTATIONS.insecureRegistries] ?? "")
      .split(",")
      .filter((x) => x !== "");
    for (const r of asked)
      if (!loopbackRegistry(r))
        throw reqError(
          `CreateVM: insecure registry ${JSON.stringify(r)} is not a loopback host:port`,
        );
    const insecure = [...new Set([...(o.insecureRegistries ?? []), ...asked])];
    const name = instanceName(o.namePrefix ?? "podvm", podName, id);
    const cert = await issueTlsCertificate(ca.serverCa, { server: [name] });
    const files: WriteFile[] = [
      {
        path: APF_CONFIG_PATH,
        content: buildApfConfig({
          podNamespace,
          podName,
          tlsServerKey: cert.keyPem,
          tlsServerCert: cert.certPem,
          tlsClientCa: ca.clientCaPem,
        }),
      },
    ];
    if (toml)
      files.push({ path: USER_DATA_INITDATA_PATH, content: encodeInitDataAnnotation(toml) });
    const spec: Omit<InstanceSpec, "userData"> = {
      name,
      sandboxId: id,
      podName,
      podNamespace,
      instanceType: choice.type.name,
      vcpus: choice.type.vcpus,
      memoryMiB: choice.type.memoryMiB,
      image: choice.image,
      ...(launchField ? { launchField } : {}),
      insecureRegistries: insecure,
      forwardPorts: loopbackPorts(insecure, toml),
      tags: {
        [TAGS.adaptor]: o.adaptorId,
        [TAGS.sandbox]: id,
        [TAGS.podName]: podName,
        [TAGS.podNamespace]: podNamespace,
      },
    };
    const owner = a[PEERPOD_ANNOTATIONS.owner];
    const record: SandboxRecord = {
      sandboxId: id,
      spec,
      agentSocketPath: join(podDir(id), AGENT_PROXY_SOCKET),
      ...(owner ? { ownerPath: owner } : {}),
      ...(req.networkNamespacePath ? { netnsPath: req.networkNamespacePath } : {}),
      state: "created",
      createdAt: new Date().toISOString(),
    };
    mkdirSync(podDir(id), { recursive: true, mode: 0o700 });
    store.save(record);
    live.set(id, { record, userData: buildCloudConfig(files) });
    log(
      `CreateVM ${id}: pod ${podNamespace}/${podName}, instance ${name}, type ${choice.type.name} (${choice.type.vcpus} vCPU, ${choice.type.memoryMiB} MiB; ${choice.why}), image ${choice.image}${toml ? ", init-data in user-data" : ", no init-data"}`,
    );
    return { agentSocketPath: record.agentSocketPath };
  }

  async function startVM(id: string, signal?: AbortSignal): Promise<void> {
    const l = live.get(id);
    if (!l || l.userData === undefined) throw reqError(`StartVM: no created sandbox ${id}`);
    if (busy.has(id)) throw reqError(`StartVM: sandbox ${id} is already starting`);
    busy.add(id);
    const r = l.record;
    const t0 = performance.now();
    try {
      r.state = "starting";
      store.save(r);
      const inst = await o.provider.create({ ...r.spec, userData: l.userData }, signal);
      r.instanceId = inst.id;
      r.endpoint = inst.endpoint;
      store.save(r);
      await o.provider.start(inst.id, signal);
      l.proxy = await openProxy(r);
      // Ready when the agent answers through proxy → TLS → forwarder → agent.
      const deadline = Date.now() + startTimeout;
      for (;;) {
        if (signal?.aborted) throw new HostError("ERR_PEERPOD_START", "StartVM was cancelled");
        const c = new TtrpcClient(`unix://${r.agentSocketPath}`, { timeoutMs: 5000 });
        try {
          await c.callRaw("grpc.Health", "Check", new Uint8Array(0));
          break;
        } catch {
          // the VM is still booting
        } finally {
          c.close();
        }
        const state = (await o.provider.list({ [TAGS.sandbox]: id })).find(
          (i) => i.id === inst.id,
        )?.state;
        if (state !== "running")
          throw new HostError(
            "ERR_PEERPOD_START",
            `instance ${inst.id} stopped before its agent answered`,
          );
        if (Date.now() > deadline)
          throw new HostError(
            "ERR_PEERPOD_START",
            `the agent in ${inst.id} did not answer within ${Math.round(startTimeout / 1000)} s`,
          );
        await new Promise((res) => setTimeout(res, 250));
      }
      r.state = "running";
      store.save(r);
      delete l.userData;
      log(
        `StartVM ${id}: instance ${inst.id} ready in ${Math.round(performance.now() - t0)} ms (agent at ${inst.endpoint.host}:${inst.endpoint.port})`,
      );
    } catch (err) {
      const tail = r.instanceId ? o.provider.console(r.instanceId) : "";
      await forget(id, r.instanceId, "StartVM failed").catch(() => {});
      throw new HostError(
        "ERR_PEERPOD_START",
        `StartVM ${id}: ${(err as Error).message}${tail ? `\nconsole (last lines):\n${tail.replace(/^/gm, "    ")}` : ""}`,
        { cause: err },
      );
    } finally {
      busy.delete(id);
    }
  }

  async function stopVM(id: string): Promise<void> {
    const r = live.get(id)?.record ?? store.load(id);
    if (!r) throw new HostError("ERR_PEERPOD_REQUEST", `StopVM: no sandbox ${id}`);
    await forget(id, r.instanceId, "StopVM");
    log(`StopVM ${id}: done`);
  }

  /**
   * Reconciles the provider's instances (this adaptor's tag) with the records: an instance with no
   * record, or whose pod is gone, or that stopped, is deleted; a running one whose pod lives is
   * re-attached (its agent proxy reopened). Records with no instance are dropped.
   */
  async function collectGarbage(): Promise<GcReport> {
    const report: GcReport = { deleted: [], adopted: [] };
    const instances = await o.provider.list({ [TAGS.adaptor]: o.adaptorId });
    const records = store.all();
    const seen = new Set<string>();
    for (const inst of instances) {
      const sid = inst.tags[TAGS.sandbox] ?? "";
      if (busy.has(sid)) {
        seen.add(sid);
        continue;
      }
      const r =
        records.find((x) => x.instanceId === inst.id) ?? records.find((x) => x.sandboxId === sid);
      let why: string | false = false;
      if (!r) why = "no record of it (its adaptor died while creating it)";
      else {
        seen.add(r.sandboxId);
        why = podGone(r) || (inst.state !== "running" ? "its VM stopped" : false);
      }
      if (why) {
        if (r) await forget(r.sandboxId, inst.id, why);
        else await o.provider.delete(inst.id);
        log(`gc: deleted instance ${inst.id}: ${why}`);
        report.deleted.push({ id: inst.id, why });
        continue;
      }
      if (r && !live.get(r.sandboxId)?.proxy) {
        if (!r.instanceId) {
          r.instanceId = inst.id;
        }
        r.state = "running";
        store.save(r);
        const proxy = await openProxy(r);
        live.set(r.sandboxId, { record: r, proxy });
        log(`gc: re-attached instance ${inst.id} to sandbox ${r.sandboxId}`);
        report.adopted.push(inst.id);
      }
    }
    for (const r of records) {
      if (seen.has(r.sandboxId) || busy.has(r.sandboxId)) continue;
      // A record whose instance is gone, or never created (not pending in this process).
      if (live.get(r.sandboxId)?.userData !== undefined && !r.instanceId) continue;
      await forget(r.sandboxId, undefined, "no instance");
      if (r.instanceId) report.deleted.push({ id: r.instanceId, why: "its instance is gone" });
    }
    return report;
  }

  return {
    createVM,
    startVM,
    stopVM,
    collectGarbage,
    /** Sandboxes this adaptor serves now. */
    sandboxes: () => [...live.keys()],
    async close(): Promise<void> {
      for (const l of live.values()) await l.proxy?.close();
      live.clear();
    },
  };
}

/** The adaptor's type. */
export type Adaptor = Awaited<ReturnType<typeof createAdaptor>>;
