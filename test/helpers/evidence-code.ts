/**
 * The code of the EvidenceError a parse or verification throws, or undefined when it returns:
 * tampering tests assert which check refused the input. Anything other than an EvidenceError is a
 * bug in the code under test (a crash on hostile input), so it fails the test with its stack.
 */
import assert from "node:assert/strict";
import { EvidenceError } from "../../src/tee/common/errors.js";

export function evidenceCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof EvidenceError, `not an EvidenceError: ${(e as Error).stack}`);
    return e.code;
  }
}
