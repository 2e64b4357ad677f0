import assert from "node:assert/strict";
import { test } from "node:test";
import { demoSampleInitData } from "./sample-initdata.js";

test("the sample init-data demo binds, releases to the honest guest and refuses the three others", async () => {
  const lines: string[] = [];
  const r = await demoSampleInitData((l) => lines.push(l));
  assert.deepEqual(Object.keys(r.evidence), ["svn", "report_data", "init_data"]);
  assert.match(r.aaRefused, /ERR_AA_INITDATA_MISMATCH/);
  assert.match(r.mismatchRefused, /launch field does not equal/);
  assert.match(r.withheldRefused, /sent no init-data/);
  assert.equal(lines.length, 7, lines.join("\n"));
});
