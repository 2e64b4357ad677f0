import { type ObjectValue, SetValue, type Value } from "../value/value.js";
import { argObject, builtinError, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Most paths `graph.reachable_paths` builds before refusing (path counts grow exponentially). */
export const MAX_PATHS = 100_000;

/** Longest path `graph.reachable_paths` follows (the builder recurses per vertex). */
export const MAX_PATH_LENGTH = 2_000;

/** Vertices of an array or set (anything else has none, as upstream treats it). */
function vertices(v: Value | undefined): readonly Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof SetValue) return v.sorted();
  return [];
}

function initial(name: string, v: Value): readonly Value[] {
  if (!Array.isArray(v) && !(v instanceof SetValue)) throw operandError(name, 2, "{array, set}", v);
  return vertices(v);
}

/** `graph.reachable`: every vertex reachable from `initial` that is a key of `graph`. */
function reachable(graph: ObjectValue, start: readonly Value[]): SetValue {
  const reached = new SetValue();
  const queue = [...start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as Value;
    const edges = graph.get(node);
    if (edges === undefined || reached.has(node)) continue;
    reached.add(node);
    for (const n of vertices(edges)) if (!reached.has(n)) queue.push(n);
  }
  return reached;
}

/** `graph.reachable_paths`: upstream's depth-first path builder, cut at cycles. */
function reachablePaths(graph: ObjectValue, start: readonly Value[]): SetValue {
  const out = new SetValue();
  const add = (p: Value[]) => {
    out.add(Object.freeze(p.slice()));
    if (out.size > MAX_PATHS)
      throw builtinError("graph.reachable_paths", `more than ${MAX_PATHS} paths`);
  };
  const build = (root: Value, path: Value[], onPath: SetValue) => {
    const edges = graph.get(root);
    if (edges === undefined) return add(path);
    const p = [...path, root];
    if (p.length > MAX_PATH_LENGTH) {
      throw builtinError("graph.reachable_paths", `path longer than ${MAX_PATH_LENGTH} vertices`);
    }
    const next = vertices(edges);
    if (next.length === 0) return add(p);
    const seen = SetValue.of([...onPath.values(), root]);
    for (const n of next) {
      if (seen.has(n)) add(p);
      else build(n, p, seen);
    }
  };
  for (const node of start) {
    const edges = graph.get(node);
    if (edges === undefined) continue;
    const next = vertices(edges);
    if (next.length === 0) add([node]);
    for (const n of next) build(n, [node], SetValue.of([node]));
  }
  return out;
}

/** `graph.*` builtins (`walk` is evaluated by the engine itself). */
export const graphBuiltins: BuiltinTable = {
  "graph.reachable": {
    arity: 2,
    fn: (args) =>
      reachable(
        argObject("graph.reachable", args, 0),
        initial("graph.reachable", args[1] as Value),
      ),
  },
  "graph.reachable_paths": {
    arity: 2,
    fn: (args) =>
      reachablePaths(
        argObject("graph.reachable_paths", args, 0),
        initial("graph.reachable_paths", args[1] as Value),
      ),
  },
};
