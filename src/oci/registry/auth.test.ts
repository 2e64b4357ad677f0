import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasCode } from "../../errors.js";
import { parseReference } from "../reference.js";
import { lookupCredentials, parseAuthFile, parseChallenge } from "./auth.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("auth.json", () => {
  const auth = parseAuthFile(
    Buffer.from(
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hub:pw1\n") },
          "quay.io": { auth: b64("quay:pw2") },
          "quay.io/team/img": { auth: b64("team:pw3") },
        },
      }),
    ),
  );
  test("picks the longest matching prefix, then normalised registry keys", () => {
    assert.deepEqual(lookupCredentials(auth, parseReference("mysql:latest")), {
      username: "hub",
      password: "pw1",
    });
    assert.deepEqual(lookupCredentials(auth, parseReference("quay.io/team/img:1")), {
      username: "team",
      password: "pw3",
    });
    assert.deepEqual(lookupCredentials(auth, parseReference("quay.io/other/img")), {
      username: "quay",
      password: "pw2",
    });
    assert.equal(
      lookupCredentials(auth, parseReference("gcr.io/google-containers/busybox:1.27.2")),
      undefined,
    );
  });
  test("rejects garbage, a missing auths object, and auth without a colon", () => {
    for (const bad of [
      "not json",
      "{}",
      '{"auths":[]}',
      JSON.stringify({ auths: { x: { auth: b64("nocolon") } } }),
    ]) {
      assert.throws(
        () => parseAuthFile(Buffer.from(bad)),
        (e) => hasCode(e, "ERR_OCI_AUTH_CONFIG"),
      );
    }
  });
});

describe("WWW-Authenticate", () => {
  test("parses bearer parameters with quoted strings", () => {
    assert.deepEqual(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example/token",
          service: "registry.example",
          scope: "repository:a/b:pull",
        },
      },
    );
    assert.deepEqual(parseChallenge('Basic realm="x"'), {
      scheme: "basic",
      params: { realm: "x" },
    });
    assert.equal(parseChallenge("Negotiate abc"), undefined);
    assert.equal(parseChallenge("x".repeat(10000)), undefined);
  });
});
