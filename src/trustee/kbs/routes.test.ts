/**
 * Property tests of the path canonicaliser against the KBS route table: for random spellings
 * (percent-encoding of any character, dot and empty segments, queries), whatever the
 * canonicaliser accepts routes exactly as its canonical string does, an ACL pattern naming an
 * endpoint matches exactly the requests the router sends to that endpoint, and the resource
 * store key is the canonical path's tail.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../../test/helpers/fuzz.js";
import { KbsProtocolError } from "../../protocol/kbs/errors.js";
import {
  type CanonicalRequestPath,
  canonicalRequestPath,
} from "../../protocol/kbs/request-path.js";
import { parseResourcePath } from "../../protocol/kbs/resource-path.js";
import { createKbsContext, type KbsDeps } from "./context.js";
import { createKbsRouter } from "./handler.js";
import { createRouter, type Route, type RouteMatch } from "./routes.js";

// Only routing is exercised: no handler runs, so the deps behind them are never called.
const router = createKbsRouter(
  createKbsContext({
    attestationService: {},
    resourcePlugin: true,
    events: {},
  } as unknown as KbsDeps),
);
const METHODS = ["GET", "POST", "DELETE", "PUT"] as const;

const WORDS = [
  "kbs",
  "v0",
  "auth",
  "attest",
  "resource",
  "resource-policy",
  "attestation-policy",
  "reference-value",
  "metrics",
  "healthz",
  ".well-known",
  "jwks.json",
  "default",
  "key",
  "tenant-a",
  "a",
  ".",
  "..",
  "",
  "x.y",
];

/** A spelling of `s` with random characters percent-encoded (either hex case). */
function spell(rng: Rng, s: string): string {
  let out = "";
  for (const ch of s) {
    if (rng.chance(0.2)) {
      const hex = ch.charCodeAt(0).toString(16).padStart(2, "0");
      out += `%${rng.chance(0.5) ? hex.toUpperCase() : hex}`;
    } else out += ch;
  }
  return out;
}

function randomTarget(rng: Rng): string {
  const segs: string[] = [];
  // Most targets start like a KBS path, so the routes are reached often.
  if (rng.chance(0.8)) segs.push("kbs", "v0");
  const n = rng.int(6);
  for (let i = 0; i < n; i++) {
    const r = rng.int(10);
    if (r < 7) segs.push(rng.pick(WORDS));
    else if (r < 8) segs.push(String.fromCharCode(...rng.bytes(1 + rng.int(3))));
    else if (r < 9) segs.push(rng.pick(["%2F", "%2f", "%5C", "%25", "%00", "%2E", "%2e%2E", "%"]));
    else segs.push(`${rng.pick(WORDS)}${rng.pick(["/", "//", "?", "#", ";"])}`);
  }
  let t = `/${segs.map((s) => spell(rng, s)).join("/")}`;
  if (rng.chance(0.15)) t += `?${rng.pick(["", "a=1", "a=1&b=2", "a=1&a=2", "x=%2F"])}`;
  return t;
}

function sameMatch(a: RouteMatch, b: RouteMatch): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "route" && b.kind === "route") {
    return a.route === b.route && a.rest.join("/") === b.rest.join("/");
  }
  if (a.kind === "tail" && b.kind === "tail") return a.route === b.route;
  return true;
}

/** The regex an operator writes to allow exactly `route` (upstream's `^…$` form). */
function aclFor(route: Route): RegExp {
  const p = route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const tail = route.tail ?? "none";
  return new RegExp(tail === "none" ? `^${p}$` : tail === "some" ? `^${p}/.+$` : `^${p}(/.*)?$`);
}

test("random spellings: accepted ones route as their canonical string; ACL and router agree", () => {
  const rng = new Rng(0x15c0de);
  const adminRoutes = router.routes.filter((r) => r.admin !== undefined);
  assert.ok(adminRoutes.length >= 5);
  let accepted = 0;
  let routed = 0;
  const refusedWhy = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const target = randomTarget(rng);
    let c: CanonicalRequestPath;
    try {
      c = canonicalRequestPath(target);
    } catch (e) {
      assert.ok(e instanceof KbsProtocolError && e.code === "ERR_KBS_PATH", `${target}: ${e}`);
      const why = e.message.replace(/^Invalid request path: /, "");
      refusedWhy.set(why, (refusedWhy.get(why) ?? 0) + 1);
      continue;
    }
    accepted++;
    // The canonical string is a fixed point, free of anything a second reader could re-read.
    const again = canonicalRequestPath(c.path);
    assert.equal(again.path, c.path, target);
    assert.deepEqual(again.segments, c.segments, target);
    assert.doesNotMatch(c.path, /%|\/\/|\/\.\.?(\/|$)|.\/$|\\|[?#]/, target);
    // Re-encoding every decoded segment is another spelling of the same path.
    const reencoded = `/${c.segments.map(encodeURIComponent).join("/")}`;
    assert.equal(canonicalRequestPath(reencoded).path, c.path, target);
    for (const method of METHODS) {
      const m = router.match(method, c);
      assert.ok(sameMatch(m, router.match(method, again)), `${method} ${target}`);
      if (m.kind === "route") routed++;
      // An ACL naming exactly one admin endpoint allows a request iff the router sends it there.
      for (const r of adminRoutes) {
        const aclAllows = aclFor(r).test(c.path) && r.method === method;
        const reaches = m.kind === "route" && m.route === r;
        assert.equal(aclAllows, reaches, `${method} ${target} vs ${r.method} ${r.path}`);
      }
      // The resource store key is the canonical path's tail.
      if (m.kind === "route" && m.route.path === "/kbs/v0/resource") {
        let key: string | undefined;
        try {
          key = parseResourcePath(m.rest).key;
        } catch {
          key = undefined;
        }
        if (key !== undefined) assert.equal(`/kbs/v0/resource/${key}`, c.path, target);
      }
    }
  }
  // The generator must reach both sides often enough for the properties to mean something.
  assert.ok(accepted > 3000, `accepted ${accepted}`);
  assert.ok(routed > 1000, `routed ${routed}`);
  for (const why of ["dot segments", "empty path segment", "separator", "two hex digits"]) {
    assert.ok(
      [...refusedWhy.keys()].some((k) => k.includes(why)),
      `no refusal for ${why}: ${[...refusedWhy.keys()].join("; ")}`,
    );
  }
});

test("the route table: each endpoint by one spelling; unknown plugins and tails are told apart", () => {
  const at = (method: string, target: string) => router.match(method, canonicalRequestPath(target));
  assert.equal(at("POST", "/kbs/v0/auth").kind, "route");
  assert.equal(at("GET", "/kbs/v0/auth").kind, "method");
  assert.equal(at("POST", "/kbs/v0/auth/x").kind, "tail");
  assert.equal(at("POST", "/kbs/v0/nope").kind, "none");
  const rv = at("GET", "/kbs/v0/reference-value/a/b");
  assert.ok(rv.kind === "route" && rv.rest.join("/") === "a/b");
  assert.equal(at("GET", "/metrics").kind, "route");
  assert.equal(at("POST", "/metrics").kind, "method");
  const admin = router.routes.filter((r) => r.admin).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(admin.sort(), [
    "DELETE /kbs/v0/reference-value",
    "DELETE /kbs/v0/resource",
    "GET /kbs/v0/dashboard",
    "GET /kbs/v0/dashboard/stream",
    "GET /kbs/v0/events",
    "GET /kbs/v0/reference-value",
    "GET /kbs/v0/resource-policy",
    "POST /kbs/v0/attestation-policy",
    "POST /kbs/v0/reference-value",
    "POST /kbs/v0/resource",
    "POST /kbs/v0/resource-policy",
  ]);
});

test("a table with two rows for one method and path, or a non-canonical path, is refused", () => {
  const h = () => {};
  assert.throws(() =>
    createRouter([
      { method: "GET", path: "/a", handle: h },
      { method: "GET", path: "/a", handle: h },
    ]),
  );
  assert.throws(() => createRouter([{ method: "GET", path: "/a/", handle: h }]));
});
