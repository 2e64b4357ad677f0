import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Command } from "commander";
import { toolPath } from "../../test/helpers/paths.js";
import { registerRego } from "./rego.js";

const dir = mkdtempSync(join(tmpdir(), "cli-rego-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `coco rego ...` in-process, capturing stdout, stderr and the exit code. */
async function coco(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command("coco").exitOverride();
  registerRego(program);
  let out = "";
  let err = "";
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const saved = process.exitCode;
  process.exitCode = 0;
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    await program.parseAsync(["node", "coco", ...args]);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = saved;
  return { out, err, code };
}

const policy = join(dir, "p.rego");
writeFileSync(
  policy,
  'package p\nimport rego.v1\nallow if input.x == 1\ns contains x if some x in [3, 1]\nbig := 123456789012345678901234567890\nsay if print("hi", input.nope)\n',
);
const input = join(dir, "i.json");
writeFileSync(input, '{"x": 1}');

describe("coco rego eval", () => {
  const opa = toolPath("opa");
  test("prints the same bytes as opa eval --format json", {
    skip: existsSync(opa) ? false : "opa not installed",
  }, async () => {
    for (const q of [
      "data.p.allow; y := data.p.s",
      "data.p.big",
      "data.p.nothing",
      "x := data.p.s[_]",
      'x := 1; input.x with input as {"x": 2}',
      "1 == 2",
    ]) {
      const ours = await coco(["rego", "eval", "-d", policy, "-i", input, q]);
      const theirs = execFileSync(opa, ["eval", "--format", "json", "-d", policy, "-i", input, q], {
        encoding: "utf8",
      });
      assert.equal(ours.out, theirs.endsWith("\n") ? theirs : `${theirs}\n`, q);
      assert.equal(ours.code, 0);
    }
  });

  test("print() output goes to stderr", async () => {
    const r = await coco(["rego", "eval", "-d", policy, "data.p.say"]);
    assert.equal(r.err, "hi <undefined>\n");
  });

  test("a syntax error prints file:line:col with a caret and exits non-zero", async () => {
    const bad = join(dir, "bad.rego");
    writeFileSync(bad, "package p\nallow if {\n  x := \n}\n");
    const r = await coco(["rego", "eval", "-d", bad, "data.p.allow"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `${bad}:4:1: rego_parse_error: unexpected '}'\n\t}\n\t^\n`);
    assert.equal(r.out, "");
  });

  test("--strict turns builtin errors into failures", async () => {
    const p2 = join(dir, "s.rego");
    writeFileSync(p2, 'package s\nn := to_number("x")\n');
    assert.equal((await coco(["rego", "eval", "-d", p2, "data.s.n"])).out, "{}\n");
    const r = await coco(["rego", "eval", "--strict", "-d", p2, "data.s.n"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /s\.rego:2:6: eval_builtin_error: to_number/);
  });
});
