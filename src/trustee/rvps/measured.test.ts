/**
 * Reference values of measured guests: from real SNP and TDX evidence in ../shared/fixtures, the
 * values equal what the verifiers claim, and once registered they turn the default policy's
 * appraisal of that evidence from contraindicated to affirming.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sharedDir } from "../../../test/helpers/paths.js";
import { parseSnpReport } from "../../tee/snp/report.js";
import { parseDcapQuote } from "../../tee/tdx/quote.js";
import { toSubmod } from "../as/appraisal.js";
import { createRegoPolicyEngine } from "../as/policy/rego-engine.js";
import { createAttestationPolicyStore } from "../as/policy/store.js";
import { snpClaims } from "../as/verifier/snp/verify.js";
import { createMemoryStore } from "../storage/memory.js";
import {
  cmdlineDigest,
  imageReferenceValues,
  snpLaunchDigestReferenceValues,
  snpReferenceValues,
  tdxDigestReferenceValues,
  tdxReferenceValues,
} from "./measured.js";
import { createRvps, MEASUREMENTS_TYPE } from "./rvps.js";

const fixtures = join(sharedDir, "fixtures", "evidence");
const skip = existsSync(fixtures) ? false : `${fixtures} is absent`;

async function appraise(
  values: Record<string, unknown>,
  evidence: Record<string, unknown>,
): Promise<string> {
  const store = createMemoryStore();
  const rvps = createRvps(store);
  if (Object.keys(values).length > 0) {
    await rvps.register({
      type: MEASUREMENTS_TYPE,
      payload: Buffer.from(
        JSON.stringify({ reference_values: values, provenance: { source: "test" } }),
      ).toString("base64"),
    });
  }
  const snap = await rvps.snapshot();
  const policy = await createAttestationPolicyStore(store, createRegoPolicyEngine()).prepared(
    "default_cpu",
  );
  const out = policy.evaluate(evidence, {}, ["trust_claims", "extensions"], {
    query_reference_value: (n: unknown) => (typeof n === "string" ? (snap.get(n) ?? null) : null),
  });
  return toSubmod("default_cpu", "default", out.trust_claims, out.extensions, evidence)[
    "ear.status"
  ];
}

test("SNP: the report's values make the default policy affirm it", { skip }, async () => {
  const report = parseSnpReport(
    new Uint8Array(readFileSync(join(fixtures, "snp", "test-report.bin"))),
  );
  const claims = snpClaims(report);
  const values = snpReferenceValues(claims);
  assert.deepEqual(values.snp_launch_measurement, [claims.measurement]);
  assert.equal((values.snp_launch_measurement as string[])[0]?.length, 96);
  const { report_data: _r, init_data: _i, ...rest } = claims;
  const evidence = { snp: rest };
  assert.equal(await appraise({}, evidence), "contraindicated");
  assert.equal(await appraise(values, evidence), "affirming");
  // A different launch digest is not this guest.
  const other = { ...values, snp_launch_measurement: ["00".repeat(48)] };
  assert.notEqual(await appraise(other, evidence), "affirming");
});

test("TDX: MRTD, RTMRs and XFAM equal upstream's parsed claims of the same quote", { skip }, () => {
  const q = parseDcapQuote(new Uint8Array(readFileSync(join(fixtures, "tdx", "tdx_quote_4.dat"))));
  const expected = JSON.parse(
    readFileSync(join(fixtures, "tdx", "parse_tdx_claims_expected.json"), "utf8"),
  ) as { quote: { body: Record<string, string> } };
  const values = tdxReferenceValues(q);
  for (const f of ["mr_td", "rtmr_0", "rtmr_1", "rtmr_2", "rtmr_3", "xfam"]) {
    assert.deepEqual(values[f], [expected.quote.body[f]], f);
  }
});

test("explicit digests are checked for length and name", () => {
  const d = "Ab".repeat(48);
  assert.deepEqual(snpLaunchDigestReferenceValues(d), {
    snp_launch_measurement: ["ab".repeat(48)],
  });
  assert.throws(() => snpLaunchDigestReferenceValues("ab"), RangeError);
  assert.deepEqual(tdxDigestReferenceValues({ mr_td: d, rtmr_2: d }), {
    mr_td: ["ab".repeat(48)],
    rtmr_2: ["ab".repeat(48)],
  });
  assert.throws(() => tdxDigestReferenceValues({ rtmr_4: d }), /only mr_td and rtmr_0/);
  assert.throws(() => tdxDigestReferenceValues({ mr_td: "zz" }), /96 hex/);
});

test("image digests name the kernel, initramfs, programs disk and command line", () => {
  const k = "a".repeat(96);
  const i = "b".repeat(96);
  const g = "d".repeat(96);
  const c = cmdlineDigest("console=ttyS0");
  assert.equal(c.length, 96);
  assert.deepEqual(imageReferenceValues({ kernel: k, initrd: i, disk: g, cmdline: c }), {
    qemu_kernel: [k],
    qemu_initrd: [i],
    qemu_disk: [g],
    qemu_cmdline: [c],
  });
  assert.throws(() => imageReferenceValues({ kernel: "x", initrd: i, disk: g }), /not a SHA-384/);
});
