import assert from "node:assert/strict";
import { test } from "node:test";
import { demoImage } from "./image.js";

test("the image demo pulls an encrypted, signed image through Trustee and refuses an unsigned copy", async () => {
  const lines: string[] = [];
  const r = await demoImage((l) => lines.push(l));
  assert.equal(r.message, "hello from a confidential image");
  assert.match(r.manifestDigest, /^sha256:/);
  assert.match(r.refusedUnsigned, /sigstoreSigned/);
});
