/**
 * The reference-value workflow with the real `coco kbs-client` and `kbs-client` processes
 * against `coco trustee`: register values measured from a guest image, an SNP report and a TDX
 * quote (real evidence from ../shared/fixtures) with provenance and expiry; list them; append
 * a second image; delete one by path and one whose name is no path; refusals name what is
 * wrong. The events of the admin changes name the admin.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { sharedDir } from "../helpers/paths.js";
import { cocoCli, startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";

const exec = promisify(execFile);
const dropIn = join(cocoCli, "..", "bin", "kbs-client.js");
const fixtures = join(sharedDir, "fixtures", "evidence");
const noFixtures = existsSync(fixtures) ? false : `${fixtures} is absent`;

interface Listed {
  name: string;
  value: unknown;
  expiration: string;
  expired: boolean;
  provenance?: Record<string, string>;
  registered?: string;
}

describe("reference values from measured guests", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-rv-"));
  let t: TrusteeProcess;
  let kc: (args: string[]) => Promise<string>;
  let fails: (args: string[]) => Promise<string>;

  before(async () => {
    t = await startTrusteeProcess(dir);
    kc = (args) =>
      t.coco([
        "kbs-client",
        "--url",
        t.url,
        "config",
        "--admin-token-file",
        t.adminTokenFile,
        ...args,
      ]);
    fails = async (args) => {
      try {
        await kc(args);
      } catch (e) {
        return String((e as { stderr?: string }).stderr);
      }
      throw new Error(`${args.join(" ")} succeeded`);
    };
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const list = async (): Promise<Listed[]> =>
    JSON.parse(await kc(["list-reference-values", "--json"]));

  /** A guest image folder as scripts/build-guest-image lays it out (random bytes). */
  function image(
    name: string,
    kernelFile: "vmlinuz" | "vmlinux" = "vmlinuz",
  ): { dir: string; kernel: string; initrd: string; disk: string } {
    const d = join(dir, name);
    mkdirSync(d);
    const k = randomBytes(4096);
    const i = randomBytes(65536);
    const g = randomBytes(65536);
    // With a decompressed vmlinux beside it, the sandbox boots that, so that is measured.
    writeFileSync(join(d, "vmlinuz"), kernelFile === "vmlinuz" ? k : randomBytes(1024));
    if (kernelFile === "vmlinux") writeFileSync(join(d, "vmlinux"), k);
    writeFileSync(join(d, "initrd.cpio"), i);
    writeFileSync(join(d, "guest.img"), g);
    const h = (b: Buffer) => createHash("sha384").update(b).digest("hex");
    return { dir: d, kernel: h(k), initrd: h(i), disk: h(g) };
  }

  test("a qemu guest image: digests, expiry and provenance; --append keeps the old image", async () => {
    const a = image("image-a");
    const out = await kc([
      "register-reference-values",
      "--qemu-image",
      a.dir,
      "--expires",
      "30d",
      "--note",
      "release 1",
    ]);
    assert.match(out, /^Reference Values Updated\n/);
    const before = Date.now();
    let rows = await list();
    const kernel = rows.find((r) => r.name === "qemu_kernel");
    assert.deepEqual(kernel?.value, [a.kernel]);
    assert.deepEqual(rows.find((r) => r.name === "qemu_initrd")?.value, [a.initrd]);
    assert.deepEqual(rows.find((r) => r.name === "qemu_disk")?.value, [a.disk]);
    assert.equal(kernel?.expired, false);
    const days = (Date.parse(kernel?.expiration ?? "") - before) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `${days} days`);
    assert.equal(kernel?.provenance?.source, "qemu-image");
    assert.equal(kernel?.provenance?.subject, a.dir);
    assert.equal(
      kernel?.provenance?.subject_digest,
      `vmlinuz sha384:${a.kernel},initrd.cpio sha384:${a.initrd},guest.img sha384:${a.disk}`,
    );
    assert.equal(kernel?.provenance?.note, "release 1");
    assert.match(kernel?.provenance?.tool ?? "", /^coco kbs-client /);
    assert.match(kernel?.registered ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    // A second image during a rollout: both kernels are accepted. It has a vmlinux, which
    // is the kernel the sandbox boots, so that is measured.
    const b = image("image-b", "vmlinux");
    await kc(["register-reference-values", "--qemu-image", b.dir, "--append"]);
    rows = await list();
    assert.deepEqual(rows.find((r) => r.name === "qemu_kernel")?.value, [a.kernel, b.kernel]);
    // Without --append the new image replaces the old.
    await kc(["register-reference-values", "--qemu-image", b.dir]);
    rows = await list();
    assert.deepEqual(rows.find((r) => r.name === "qemu_kernel")?.value, [b.kernel]);
    // The human table lists the same names.
    const table = await kc(["list-reference-values"]);
    assert.match(table, /^NAME +EXPIRES +STATE +SOURCE +VALUE\n/);
    assert.match(table, /qemu_initrd .* valid +qemu-image/);
  });

  test("an SNP report and a TDX quote: the names the default policy reads", {
    skip: noFixtures,
  }, async () => {
    await kc([
      "register-reference-values",
      "--snp-report",
      join(fixtures, "snp", "test-report.bin"),
      "--tdx-quote",
      join(fixtures, "tdx", "tdx_quote_4.dat"),
    ]);
    const rows = await list();
    const names = rows.map((r) => r.name);
    for (const n of [
      "snp_launch_measurement",
      "snp_bootloader",
      "snp_smt_allowed",
      "mr_td",
      "rtmr_1",
      "rtmr_2",
      "xfam",
    ]) {
      assert.ok(names.includes(n), n);
    }
    const mrtd = rows.find((r) => r.name === "mr_td");
    assert.equal(mrtd?.provenance?.source, "snp-report,tdx-quote");
    // Upstream's name for the value, through upstream's subcommand of the drop-in.
    const got = await exec(process.execPath, [
      dropIn,
      "--url",
      t.url,
      "config",
      "--admin-token-file",
      t.adminTokenFile,
      "get-reference-value",
      "--id",
      "mr_td",
    ]);
    // Upstream prints the body with Rust's Debug format: a quoted JSON text.
    assert.deepEqual(JSON.parse(JSON.parse(got.stdout)), mrtd?.value);
  });

  test("delete by path and by ?id=; refusals name what is wrong", async () => {
    await kc(["delete-reference-value", "--id", "qemu_initrd"]);
    assert.ok(!(await list()).some((r) => r.name === "qemu_initrd"));
    assert.match(
      await fails(["delete-reference-value", "--id", "qemu_initrd"]),
      /is not registered/,
    );
    // A name in upstream's URI convention has an empty path segment: deleted through ?id=.
    await exec(process.execPath, [
      dropIn,
      "--url",
      t.url,
      "config",
      "--admin-token-file",
      t.adminTokenFile,
      "set-sample-reference-value",
      "rvps:///coco/kata/measurement:v1",
      "abc",
    ]);
    assert.ok((await list()).some((r) => r.name === "rvps:///coco/kata/measurement:v1"));
    await kc(["delete-reference-value", "--id", "rvps:///coco/kata/measurement:v1"]);
    assert.ok(!(await list()).some((r) => r.name.startsWith("rvps:")));

    assert.match(await fails(["register-reference-values"]), /ERR_RV_USAGE: name what to measure/);
    assert.match(
      await fails(["register-reference-values", "--snp-launch-digest", "abcd"]),
      /96 hex digits/,
    );
    assert.match(
      await fails(["register-reference-values", "--mr-td", "ab".repeat(48), "--expires", "soon"]),
      /--expires "soon"/,
    );
    assert.match(
      await fails([
        "register-reference-values",
        "--mr-td",
        "ab".repeat(48),
        "--expires",
        "2020-01-01T00:00:00Z",
      ]),
      /RvpsError.*in the past/,
    );
    assert.match(
      await fails(["register-reference-values", "--snp-report", join(dir, "nope.bin")]),
      /ERR_RV_SOURCE: cannot read/,
    );
    // An image folder without the programs disk the sandbox needs is refused, naming the file.
    const partial = image("image-partial");
    rmSync(join(partial.dir, "guest.img"));
    assert.match(
      await fails(["register-reference-values", "--qemu-image", partial.dir]),
      /ERR_RV_SOURCE: cannot read .*guest\.img/,
    );
    writeFileSync(join(dir, "garbage.bin"), randomBytes(100));
    assert.match(
      await fails(["register-reference-values", "--snp-report", join(dir, "garbage.bin")]),
      /ERR_RV_SOURCE: .* is neither an SNP report nor SNP evidence/,
    );
    assert.match(
      await fails(["register-reference-values", "--tdx-quote", join(dir, "garbage.bin")]),
      /neither a TDX quote nor TDX evidence/,
    );
    // With a token that is not the admin's the admin API refuses.
    writeFileSync(join(dir, "bogus.jwt"), "eyJhbGciOiJub25lIn0.e30.x");
    await assert.rejects(
      t.coco([
        "kbs-client",
        "--url",
        t.url,
        "config",
        "--admin-token-file",
        join(dir, "bogus.jwt"),
        "list-reference-values",
      ]),
      /AdminAuthAccess/,
    );
  });

  test("the admin changes are events naming the admin", async () => {
    const lines = (await kc(["get-events", "--kind", "admin", "--limit", "1000"]))
      .trim()
      .split("\n");
    const events = lines.map(
      (l) =>
        JSON.parse(l) as { action: string; verdict: string; who: { admin?: { sub?: string } } },
    );
    const writes = events.filter(
      (e) => e.action.endsWith("/kbs/v0/reference-value") && e.verdict === "allow",
    );
    assert.ok(writes.length >= 5, `${writes.length} reference-value changes`);
    assert.ok(writes.every((e) => e.who.admin?.sub === "admin"));
    assert.ok(
      events.some((e) => e.action === "GET /kbs/v0/reference-value" && e.verdict === "deny"),
    );
  });
});
