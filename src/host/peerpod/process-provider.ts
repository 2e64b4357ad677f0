/**
 * The `process` provider: each "VM" is a local process sandbox, as upstream's docker provider ran
 * pod "VMs" as containers for fast tests. The pod VM's own start-up program (process-user-data,
 * agent, forwarder; `src/guest/peerpod/main.ts`) runs in its own mount, UTS, IPC and PID
 * namespaces (`unshare`), with private tmpfs mounts for its state; the user-data is a file (the
 * "file" user-data channel upstream's process-user-data reads), the sample TEE launch field is
 * set in its environment at exec. It shares the host's network namespace, so its forwarder
 * listens on a loopback port (still mutual TLS). DEVELOPMENT ONLY: no isolation from this host.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { DIST_ROOT } from "../../dist-root.js";
import { SAMPLE_LAUNCH_FIELD_ENV } from "../../tee/sample/index.js";
import { HostError } from "../errors.js";
import type { Instance, InstanceInfo, InstanceSpec, Provider } from "./provider.js";

// The pod "VM" program from tsc's output, found from dist/ so that a bundled adaptor (the coco
// command tree in dist/bundle/coco.mjs) finds it as well as an unbundled one.
const PODVM_MAIN = join(DIST_ROOT, "src", "guest", "peerpod", "main.js");

/** Options of {@link createProcessProvider}. */
export interface ProcessProviderOptions {
  /** Where instances live (one folder each). */
  dir: string;
  /** The node binary for the pod "VM" (default: this one). */
  node?: string;
}

interface Stored {
  id: string;
  name: string;
  port: number;
  tags: Record<string, string>;
  launchField?: string;
  insecureRegistries: string[];
  pid?: number;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const alive = (pid: number | undefined) => {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The process provider (see the module comment). */
export function createProcessProvider(o: ProcessProviderOptions): Provider {
  const dirOf = (id: string) => {
    if (!NAME.test(id))
      throw new HostError("ERR_PEERPOD_PROVIDER", `invalid instance id ${JSON.stringify(id)}`);
    return join(o.dir, id);
  };
  const load = (id: string): Stored | undefined => {
    try {
      return JSON.parse(readFileSync(join(dirOf(id), "instance.json"), "utf8")) as Stored;
    } catch {
      return undefined;
    }
  };
  const save = (s: Stored) => {
    const tmp = join(dirOf(s.id), ".instance.json.tmp");
    writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
    renameSync(tmp, join(dirOf(s.id), "instance.json"));
  };
  const stop = async (id: string) => {
    const s = load(id);
    if (!s?.pid || !alive(s.pid)) return;
    // unshare --fork waits for its child (the pod VM program, PID 1 inside): signal that one.
    let target = s.pid;
    try {
      const kid = readFileSync(`/proc/${s.pid}/task/${s.pid}/children`, "utf8")
        .trim()
        .split(/\s+/)[0];
      if (kid) target = Number(kid);
    } catch {
      // signal unshare itself
    }
    try {
      process.kill(target, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 200 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive(s.pid)) {
      try {
        process.kill(-s.pid, "SIGKILL");
      } catch {
        // gone
      }
      for (let i = 0; i < 100 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    name: "process",
    async unavailable() {
      if (process.getuid?.() !== 0) return "the process provider needs root (unshare, mount, runc)";
      if (!existsSync(PODVM_MAIN)) return `${PODVM_MAIN} is missing: run npm run build`;
      return false;
    },
    async create(spec: InstanceSpec): Promise<Instance> {
      const dir = dirOf(spec.name);
      if (existsSync(dir))
        throw new HostError("ERR_PEERPOD_PROVIDER", `instance ${spec.name} already exists`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // The user-data channel: a file the "VM" reads, as process-user-data's file provider.
      writeFileSync(join(dir, "user-data"), spec.userData, { mode: 0o600 });
      const port = await freeLoopbackPort();
      save({
        id: spec.name,
        name: spec.name,
        port,
        tags: spec.tags,
        ...(spec.launchField ? { launchField: spec.launchField } : {}),
        insecureRegistries: spec.insecureRegistries,
      });
      return { id: spec.name, name: spec.name, endpoint: { host: "127.0.0.1", port } };
    },
    async start(id: string) {
      const s = load(id);
      if (!s) throw new HostError("ERR_PEERPOD_PROVIDER", `no instance ${id}`);
      if (alive(s.pid)) return;
      const dir = dirOf(id);
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env[SAMPLE_LAUNCH_FIELD_ENV];
      // Set by the launcher, as a VMM sets the hardware field; never inherited.
      if (s.launchField) env[SAMPLE_LAUNCH_FIELD_ENV] = s.launchField;
      const args = [
        "--mount",
        "--uts",
        "--ipc",
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child=SIGTERM",
        o.node ?? process.execPath,
        PODVM_MAIN,
        "--user-data",
        join(dir, "user-data"),
        "--listen",
        `127.0.0.1:${s.port}`,
        "--private-mounts",
        ...(s.insecureRegistries.length ? ["--insecure", s.insecureRegistries.join(",")] : []),
      ];
      const fd = openSync(join(dir, "console.log"), "a", 0o600);
      try {
        const child = spawn("unshare", args, { stdio: ["ignore", fd, fd], detached: true, env });
        child.unref();
        s.pid = child.pid;
      } finally {
        closeSync(fd);
      }
      save(s);
    },
    stop,
    async delete(id: string) {
      await stop(id);
      rmSync(dirOf(id), { recursive: true, force: true });
    },
    async list(tags: Record<string, string>): Promise<InstanceInfo[]> {
      if (!existsSync(o.dir)) return [];
      const out: InstanceInfo[] = [];
      for (const id of readdirSync(o.dir)) {
        if (!NAME.test(id)) continue;
        const s = load(id);
        if (!s) continue;
        if (!Object.entries(tags).every(([k, v]) => s.tags[k] === v)) continue;
        out.push({ id, name: s.name, state: alive(s.pid) ? "running" : "stopped", tags: s.tags });
      }
      return out;
    },
    console(id: string) {
      try {
        return readFileSync(join(dirOf(id), "console.log"), "utf8")
          .trim()
          .split("\n")
          .slice(-15)
          .join("\n");
      } catch {
        return "";
      }
    },
  };
}
