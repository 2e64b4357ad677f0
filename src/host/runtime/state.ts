import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { HostError } from "../errors.js";

/** Where coco keeps pod records on the host (no secrets in them). */
export const DEFAULT_STATE_ROOT = process.env.COCO_STATE_DIR ?? "/run/coco-ts/pods";

/** What the host remembers about a pod it runs. */
export interface PodRecord {
  name: string;
  namespace: string;
  sandboxId: string;
  kind: string;
  devOnly: boolean;
  agentAddress: string;
  pid: number;
  stateDir: string;
  /** Current container ids (a restart replaces the id) and how often each was restarted. */
  containers: { name: string; id: string; init: boolean; restarts?: number }[];
  status: "running" | "succeeded" | "failed";
  /** The detached `coco run --supervise` process restarting containers, if any. */
  supervisorPid?: number;
  exitCode?: number;
  startedAt: string;
}

/** The folder of one pod's record and sandbox files. */
export function podDir(root: string, name: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    throw new HostError("ERR_POD_NOT_FOUND", `invalid pod name ${JSON.stringify(name)}`);
  return join(root, name);
}

/** Saves a record atomically. */
export function savePod(root: string, rec: PodRecord): void {
  const dir = podDir(root, rec.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, ".pod.json.tmp");
  writeFileSync(tmp, JSON.stringify(rec, null, 2), { mode: 0o600 });
  renameSync(tmp, join(dir, "pod.json"));
}

/** Loads a record or throws ERR_POD_NOT_FOUND. */
export function loadPod(root: string, name: string): PodRecord {
  const file = join(podDir(root, name), "pod.json");
  if (!existsSync(file)) throw new HostError("ERR_POD_NOT_FOUND", `no pod named ${name}`);
  return JSON.parse(readFileSync(file, "utf8")) as PodRecord;
}

/** All records. */
export function listPods(root: string): PodRecord[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => existsSync(join(root, n, "pod.json")))
    .map((n) => loadPod(root, n));
}

/** Removes a pod's folder. */
export function forgetPod(root: string, name: string): void {
  rmSync(podDir(root, name), { recursive: true, force: true });
}

/** True when the sandbox process still exists. */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
