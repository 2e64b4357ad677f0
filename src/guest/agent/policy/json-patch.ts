import { AgentError } from "../errors.js";

/** One RFC 6902 operation as the agent policy returns them in `ops`. */
export interface PatchOp {
  op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  path: string;
  value?: unknown;
  from?: string;
}

type Doc = Record<string, unknown> | unknown[];

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) {
    throw new AgentError(
      "ERR_AGENT_POLICY",
      `JSON pointer ${JSON.stringify(path)} must start with /`,
    );
  }
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: unknown, parts: string[]): { parent: Doc; key: string } {
  let cur: unknown = doc;
  for (const p of parts.slice(0, -1)) {
    if (cur === null || typeof cur !== "object") {
      throw new AgentError("ERR_AGENT_POLICY", `JSON patch path segment ${p} does not exist`);
    }
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === null || typeof cur !== "object") {
    throw new AgentError("ERR_AGENT_POLICY", "JSON patch parent is not a container");
  }
  return { parent: cur as Doc, key: parts[parts.length - 1] ?? "" };
}

function get(doc: unknown, parts: string[]): unknown {
  let cur: unknown = doc;
  for (const p of parts) {
    if (cur === null || typeof cur !== "object" || !(p in (cur as object))) {
      throw new AgentError(
        "ERR_AGENT_POLICY",
        `JSON patch path /${parts.join("/")} does not exist`,
      );
    }
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function add(doc: unknown, parts: string[], value: unknown): void {
  const { parent, key } = parentOf(doc, parts);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) {
      throw new AgentError("ERR_AGENT_POLICY", `JSON patch array index ${key} out of range`);
    }
    parent.splice(i, 0, value);
  } else parent[key] = value;
}

function remove(doc: unknown, parts: string[]): unknown {
  const { parent, key } = parentOf(doc, parts);
  const old = get(doc, parts);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return old;
}

/**
 * Applies an RFC 6902 patch to a JSON document in place (all-or-nothing: works on a copy and
 * returns it). Used for the agent policy's state (`data.pstate`), as the Kata agent does.
 */
export function applyPatch(
  doc: Record<string, unknown>,
  ops: readonly PatchOp[],
): Record<string, unknown> {
  const copy = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    if (parts.length === 0)
      throw new AgentError("ERR_AGENT_POLICY", "JSON patch on the root is not allowed");
    switch (op.op) {
      case "add":
        add(copy, parts, structuredClone(op.value));
        break;
      case "remove":
        remove(copy, parts);
        break;
      case "replace":
        get(copy, parts);
        remove(copy, parts);
        add(copy, parts, structuredClone(op.value));
        break;
      case "test":
        if (JSON.stringify(get(copy, parts)) !== JSON.stringify(op.value)) {
          throw new AgentError("ERR_AGENT_POLICY", `JSON patch test failed at ${op.path}`);
        }
        break;
      case "move":
      case "copy": {
        const from = pointer(op.from ?? "");
        const v = op.op === "move" ? remove(copy, from) : structuredClone(get(copy, from));
        add(copy, parts, v);
        break;
      }
      default:
        throw new AgentError(
          "ERR_AGENT_POLICY",
          `unknown JSON patch op ${JSON.stringify((op as PatchOp).op)}`,
        );
    }
  }
  return copy;
}
