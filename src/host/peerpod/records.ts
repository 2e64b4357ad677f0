/**
 * The adaptor's persisted record of each pod VM (its PeerPod, in upstream's words): written
 * before the provider is asked for anything, so an adaptor that dies at any step finds, after a
 * restart, every VM it may have made. Files are JSON, 0600, replaced atomically. No secrets: the
 * TLS keys live beside them in the adaptor's CA folder.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Endpoint, InstanceSpec } from "./provider.js";

/** One sandbox's record. */
export interface SandboxRecord {
  sandboxId: string;
  /** Set once the provider created the instance. */
  instanceId?: string;
  endpoint?: Endpoint;
  spec: Omit<InstanceSpec, "userData">;
  /** The agent proxy socket the runtime dials. */
  agentSocketPath: string;
  /** A host file that exists while the pod does (its content is the sandbox id). */
  ownerPath?: string;
  /** The pod's network namespace (Kata's CreateVM field): gone with the pod. */
  netnsPath?: string;
  state: "created" | "starting" | "running";
  createdAt: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** True for a sandbox id usable as a file name (Kata ids are 64 hex). */
export function isSandboxId(id: string): boolean {
  return ID.test(id);
}

/** The record store in `dir`. */
export function createRecordStore(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (id: string) => {
    if (!isSandboxId(id)) throw new RangeError(`invalid sandbox id ${JSON.stringify(id)}`);
    return join(dir, `${id}.json`);
  };
  return {
    save(r: SandboxRecord): void {
      const tmp = `${file(r.sandboxId)}.tmp`;
      writeFileSync(tmp, JSON.stringify(r, null, 2), { mode: 0o600 });
      renameSync(tmp, file(r.sandboxId));
    },
    load(id: string): SandboxRecord | undefined {
      try {
        return JSON.parse(readFileSync(file(id), "utf8")) as SandboxRecord;
      } catch {
        return undefined;
      }
    },
    remove(id: string): void {
      rmSync(file(id), { force: true });
    },
    all(): SandboxRecord[] {
      const out: SandboxRecord[] = [];
      for (const n of readdirSync(dir)) {
        if (!n.endsWith(".json")) continue;
        const r = this.load(n.slice(0, -5));
        if (r) out.push(r);
      }
      return out;
    },
  };
}

/** The record store's type. */
export type RecordStore = ReturnType<typeof createRecordStore>;
