import assert from "node:assert/strict";
import { test } from "node:test";
import { fromJs } from "../value/json.js";
import { renderTemplate } from "./template.js";

test("renders fields, nested paths, range with index, if/else and trim markers", () => {
  const vars = fromJs({ a: { b: "x" }, n: 3, xs: ["p", "q"], empty: [], on: false });
  assert.equal(renderTemplate("{{.a.b}}-{{.n}}", vars), "x-3");
  assert.equal(
    renderTemplate("{{range $i, $v := .xs}}{{if $i}},{{end}}{{$v}}{{end}}", vars),
    "p,q",
  );
  assert.equal(renderTemplate("{{range .empty}}x{{else}}none{{end}}", vars), "none");
  assert.equal(renderTemplate("{{if .on}}yes{{else}}no{{end}}", vars), "no");
  assert.equal(renderTemplate("a  {{- .n -}}  b", vars), "a3b");
  assert.equal(renderTemplate("{{.missing}} {{.a.missing}}", vars), "<undefined> <undefined>");
});

test("rejects unsupported or malformed actions with a builtin error", () => {
  const vars = fromJs({});
  assert.throws(() => renderTemplate("{{len .x}}", vars), { code: "ERR_REGO_BUILTIN" });
  assert.throws(() => renderTemplate("{{if .x}}", vars), { code: "ERR_REGO_BUILTIN" });
  assert.throws(() => renderTemplate("{{.x", vars), { code: "ERR_REGO_BUILTIN" });
  assert.throws(() => renderTemplate("{{end}}", vars), { code: "ERR_REGO_BUILTIN" });
});
