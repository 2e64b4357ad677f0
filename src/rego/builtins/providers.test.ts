import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegoError } from "../errors.js";
import { fromJs } from "../value/json.js";
import type { ObjectValue, Value } from "../value/value.js";
import { providersBuiltins } from "./providers.js";
import type { BuiltinContext } from "./types.js";

const ctx = (): BuiltinContext => ({ strict: true, nowNs: 0n, cache: new Map() });
const sign = (...args: Value[]) => providersBuiltins["providers.aws.sign_req"]!.fn(args, ctx());
const v = (x: unknown) => fromJs(x);
const CFG = {
  aws_access_key: "AKIDEXAMPLE",
  aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  aws_service: "service",
  aws_region: "us-east-1",
};
const T = 1440938160n * 1_000_000_000n; // 2015-08-30T12:36:00Z

describe("providers.aws.sign_req", () => {
  it("reproduces AWS's published SigV4 'get-vanilla' signature", () => {
    const out = sign(
      v({ method: "GET", url: "https://example.amazonaws.com/" }),
      v(CFG),
      T,
    ) as ObjectValue;
    const h = out.get("headers") as ObjectValue;
    assert.equal(
      h.get("Authorization"),
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,SignedHeaders=host;x-amz-date,Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
    assert.equal(h.get("x-amz-date"), "20150830T123600Z");
    assert.equal(h.get("host"), "example.amazonaws.com");
  });

  it("rejects bad requests, configs and timestamps with upstream's texts", () => {
    const bad = (args: Value[], text: string) =>
      assert.throws(
        () => sign(...args),
        (e: unknown) =>
          e instanceof RegoError && e.code === "ERR_REGO_TYPE" && e.message.includes(text),
      );
    bad([v({}), v(CFG), T], 'missing required request parameters(s): {"method", "url"}');
    bad(
      [v({ method: "GET", url: "x", bogus: 1 }), v(CFG), T],
      'invalid request parameters(s): {"bogus"}',
    );
    bad(
      [v({ method: 1, url: "x" }), v(CFG), T],
      'invalid values for required request parameters(s): {"method"}',
    );
    bad([v({ method: "GET", url: "x" }), v({}), T], "missing required AWS config parameters(s)");
    bad(
      [v({ method: "GET", url: "x" }), v({ ...CFG, aws_region: 1 }), T],
      'invalid values for required AWS config parameters(s): {"aws_region"}',
    );
    bad(
      [v({ method: "GET", url: "x" }), v(CFG), -1],
      "could not convert time_ns value into a unix timestamp",
    );
    bad(
      [v({ method: "GET", url: "x" }), v({ ...CFG, disable_payload_signing: "no" }), T],
      "disable_payload_signing",
    );
  });
});
