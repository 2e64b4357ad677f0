import { ObjectValue, type Value } from "../value/value.js";
import type { BinaryOp, Literal, Module, Rule, Term } from "./ast.js";

/**
 * A module as OPA's AST JSON (what `rego.parse_module` returns): terms as `{type, value}`,
 * operators as calls of their builtin names, statements as `{index, terms}`.
 */
export function moduleToOpaJson(m: Module): Value {
  const o = new ObjectValue();
  o.set(
    "package",
    rec({ path: Object.freeze([v("var", "data"), ...m.pkg.map((p) => v("string", p))]) }),
  );
  if (m.imports.length > 0) {
    o.set(
      "imports",
      Object.freeze(
        m.imports.map((i) => rec({ path: term(i.path), ...(i.alias ? { alias: i.alias } : {}) })),
      ),
    );
  }
  if (m.rules.length > 0) o.set("rules", Object.freeze(m.rules.map(rule)));
  return o;
}

const OPS: Record<BinaryOp, string> = {
  "+": "plus",
  "-": "minus",
  "*": "mul",
  "/": "div",
  "%": "rem",
  "|": "or",
  "&": "and",
  "==": "equal",
  "!=": "neq",
  "<": "lt",
  "<=": "lte",
  ">": "gt",
  ">=": "gte",
};

function rec(r: Record<string, Value>): ObjectValue {
  return ObjectValue.fromRecord(r);
}

function v(type: string, value?: Value): ObjectValue {
  return value === undefined ? rec({ type }) : rec({ type, value });
}

function opRef(name: string): ObjectValue {
  return v(
    "ref",
    Object.freeze(name.split(".").map((p, i) => (i === 0 ? v("var", p) : v("string", p)))),
  );
}

function term(t: Term): Value {
  switch (t.type) {
    case "scalar":
      if (t.value === null) return v("null");
      if (typeof t.value === "boolean") return v("boolean", t.value);
      if (typeof t.value === "string") return v("string", t.value);
      return v("number", t.value);
    case "var":
      return v("var", t.name);
    case "ref":
      return v("ref", Object.freeze([term(t.head), ...t.path.map(term)]));
    case "array":
      return v("array", Object.freeze(t.items.map(term)));
    case "set":
      return v("set", Object.freeze(t.items.map(term)));
    case "object":
      return v(
        "object",
        Object.freeze(t.entries.map(([k, x]) => Object.freeze([term(k), term(x)]))),
      );
    case "arrayCompr":
    case "setCompr":
      return v(
        t.type === "arrayCompr" ? "arraycomprehension" : "setcomprehension",
        rec({ term: term(t.head), body: body(t.body) }),
      );
    case "objectCompr":
      return v(
        "objectcomprehension",
        rec({ key: term(t.key), value: term(t.value), body: body(t.body) }),
      );
    case "call":
      return v("call", Object.freeze([opRef(t.fn), ...t.args.map(term)]));
    case "binary":
      return v("call", Object.freeze([opRef(OPS[t.op]), term(t.left), term(t.right)]));
    case "unary":
      return v("call", Object.freeze([opRef("minus"), v("number", 0), term(t.operand)]));
    case "in":
      return t.key
        ? v(
            "call",
            Object.freeze([
              opRef("internal.member_3"),
              term(t.key),
              term(t.value),
              term(t.collection),
            ]),
          )
        : v("call", Object.freeze([opRef("internal.member_2"), term(t.value), term(t.collection)]));
    case "assign":
      return v(
        "call",
        Object.freeze([opRef(t.op === ":=" ? "assign" : "eq"), term(t.left), term(t.right)]),
      );
    case "template":
      return v(
        "templatestring",
        Object.freeze(t.parts.map((p) => (typeof p === "string" ? v("string", p) : term(p)))),
      );
  }
}

function body(lits: Literal[]): Value {
  return Object.freeze(lits.map((l, index) => literal(l, index)));
}

function literal(l: Literal, index: number): Value {
  const o = new ObjectValue();
  o.set("index", index);
  switch (l.kind) {
    case "expr": {
      const t = term(l.expr) as ObjectValue;
      o.set("terms", t.get("type") === "call" ? (t.get("value") as Value) : t);
      if (l.negated) o.set("negated", true);
      if (l.with.length > 0)
        o.set(
          "with",
          Object.freeze(l.with.map((w) => rec({ target: term(w.target), value: term(w.value) }))),
        );
      break;
    }
    case "some":
      o.set("terms", rec({ symbols: Object.freeze(l.vars.map((n) => v("var", n))) }));
      break;
    case "someIn":
      o.set(
        "terms",
        rec({
          symbols: Object.freeze([
            term({ type: "in", key: l.key, value: l.value, collection: l.collection, loc: l.loc }),
          ]),
        }),
      );
      break;
    case "every":
      o.set(
        "terms",
        rec({
          key: l.key ? term(l.key) : null,
          value: term(l.value),
          domain: term(l.domain),
          body: body(l.body),
        }),
      );
      break;
  }
  return o;
}

function rule(r: Rule): Value {
  const head = new ObjectValue();
  const first = r.head[0];
  if (first?.type === "var") head.set("name", first.name);
  head.set("ref", Object.freeze(r.head.map(term)));
  if (r.args) head.set("args", Object.freeze(r.args.map(term)));
  if (r.key) head.set("key", term(r.key));
  if (r.value) head.set("value", term(r.value));
  else if (!r.key) head.set("value", v("boolean", true));
  const o = rec({
    head,
    body: r.body.length
      ? body(r.body)
      : Object.freeze([rec({ index: 0, terms: v("boolean", true) })]),
  });
  if (r.isDefault) o.set("default", true);
  if (r.elses.length > 0) {
    o.set(
      "else",
      Object.freeze(
        r.elses.map((e) =>
          rec({
            head: rec({ value: e.value ? term(e.value) : v("boolean", true) }),
            body: body(e.body),
          }),
        ),
      ),
    );
  }
  return o;
}
