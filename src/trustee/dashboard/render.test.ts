import assert from "node:assert/strict";
import { test } from "node:test";
import type { TrusteeEvent } from "../events/index.js";
import { escapeHtml, renderLogin, renderOverview, trustVectorText } from "./render.js";

const base = {
  resources: [],
  resourcesTruncated: false,
  attestationPolicies: [],
  resourcePolicies: [],
  referenceValues: [],
  now: Date.parse("2026-12-07T00:00:00Z"),
};

test("escapeHtml escapes the five characters that matter in content and attributes", () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
  );
});

test("with events disabled both event tables say so; the rest still renders", () => {
  const html = renderOverview({ ...base, resources: ["default/key/a"], resourcesTruncated: true });
  assert.equal(html.match(/Events are disabled/g)?.length, 2);
  assert.doesNotMatch(html, /id="attestations"|id="denials"/);
  assert.match(html, /\(1\+, names only\)/);
  assert.match(html, /<li>default\/key\/a<\/li>/);
});

test("trust vectors and refusals read as text; long reference values are cut", () => {
  const e = {
    id: "1-r-0",
    time: "2026-12-07T00:00:00.000Z",
    replica: "r",
    kind: "attestation",
    verdict: "allow",
    action: "attest",
    who: {},
    ear: { cpu0: { status: "affirming", trust_vector: { hardware: 2, executables: 3 } } },
    duration_ms: 1,
  } satisfies TrusteeEvent;
  assert.equal(trustVectorText(e), "cpu0 affirming: hardware 2, executables 3");
  const html = renderOverview({
    ...base,
    attestations: [e],
    denials: [],
    referenceValues: [
      {
        version: "0.1.0",
        name: "big",
        expiration: "2027-01-01T00:00:00Z",
        value: ["x".repeat(500)],
        expired: true,
      },
    ],
  });
  assert.match(html, /<tr class="allow">/);
  assert.match(html, /<td>expired<\/td>/);
  assert.match(html, /x{100,}…<\/td>/);
  assert.doesNotMatch(html, /x{200}/);
  assert.match(renderLogin("bad <token>"), /Access refused: bad &lt;token&gt;/);
});
