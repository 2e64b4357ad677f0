/**
 * A minimal RCAR client written from the protocol text, for black-box tests of our KBS (it
 * deliberately does not use the guest components' client).
 */
import { createHash, type KeyObject } from "node:crypto";
import canonicalize from "canonicalize";
import {
  decryptWithTeeKey,
  generateTeeKeyPair,
  type TeeKeyKind,
  type TeePublicJwk,
} from "../../src/crypto/jwe.js";

/** An HTTP answer. */
export interface Answer {
  status: number;
  body: unknown;
  text: string;
  setCookie: string | null;
}

/** Sends one request. */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body =
      typeof body === "string" || body instanceof Uint8Array
        ? (body as string)
        : JSON.stringify(body);
    if (!(body instanceof Uint8Array))
      (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, setCookie: res.headers.get("set-cookie") };
}

/** The cookie pair (`kbs-session-id=...`) of a Set-Cookie header. */
export function cookieOf(setCookie: string | null): string {
  if (setCookie === null) throw new Error("no Set-Cookie");
  return setCookie.split(";")[0] as string;
}

/** Options for a handshake. */
export interface HandshakeOptions {
  keyKind?: TeeKeyKind;
  hashes?: string[];
  tee?: string;
  initData?: string;
  /** Send this tee-pubkey instead of the generated key's (hostile tests; bound in report data). */
  teePubkey?: unknown;
  /** Change the evidence before sending (negative tests). */
  tamper?: (att: Record<string, unknown>) => void;
  evidence?: (reportData: Buffer) => unknown;
}

/** A client state after a handshake. */
export interface Handshake {
  cookie: string;
  nonce: string;
  publicJwk: TeePublicJwk;
  privateKey: KeyObject;
  attest: Answer;
  token?: string;
  hash: string;
}

/** Runs auth + attest with the sample TEE. */
export async function handshake(base: string, o: HandshakeOptions = {}): Promise<Handshake> {
  const generated = generateTeeKeyPair(o.keyKind ?? "ec-p256");
  const { privateKey } = generated;
  const publicJwk = (o.teePubkey ?? generated.publicJwk) as TeePublicJwk;
  const auth = await call(`${base}/kbs/v0/auth`, "POST", {
    version: "0.4.0",
    tee: o.tee ?? "sample",
    "extra-params": {
      "supported-hash-algorithms": o.hashes ?? ["sha256", "sha384", "sha512", "sm3"],
    },
  });
  if (auth.status !== 200) throw new Error(`auth failed: ${auth.status} ${auth.text}`);
  const challenge = auth.body as { nonce: string; "extra-params": unknown };
  const ep = challenge["extra-params"];
  const hash =
    typeof ep === "object" && ep !== null
      ? String((ep as Record<string, unknown>)["selected-hash-algorithm"]).toLowerCase()
      : "sha384";
  const cookie = cookieOf(auth.setCookie);
  const rd = canonicalize({
    "tee-pubkey": publicJwk,
    nonce: challenge.nonce,
    "additional-evidence": "",
  }) as string;
  const reportData = createHash(hash).update(rd).digest();
  const att: Record<string, unknown> = {
    "init-data": o.initData === undefined ? null : { format: "toml", body: o.initData },
    "runtime-data": { nonce: challenge.nonce, "tee-pubkey": publicJwk },
    "tee-evidence": {
      primary_evidence: o.evidence
        ? o.evidence(reportData)
        : { svn: "1", report_data: reportData.toString("base64") },
      additional_evidence: "",
    },
  };
  o.tamper?.(att);
  const attest = await call(`${base}/kbs/v0/attest`, "POST", att, { cookie });
  const out: Handshake = { cookie, nonce: challenge.nonce, publicJwk, privateKey, attest, hash };
  if (attest.status === 200) {
    out.token = (attest.body as { token: string }).token;
    out.cookie = cookieOf(attest.setCookie);
  }
  return out;
}

/** GETs a resource and decrypts it with the handshake's TEE key. */
export async function getResource(
  base: string,
  path: string,
  h: Handshake,
  via: "cookie" | "bearer" = "cookie",
): Promise<{ answer: Answer; plaintext?: Uint8Array }> {
  const headers: Record<string, string> =
    via === "cookie" ? { cookie: h.cookie } : { authorization: `Bearer ${h.token ?? ""}` };
  const answer = await call(`${base}/kbs/v0/resource/${path}`, "GET", undefined, headers);
  if (answer.status !== 200) return { answer };
  return { answer, plaintext: await decryptWithTeeKey(h.privateKey, answer.body as never) };
}

/** Decodes a JWT payload without verifying it (test inspection only). */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}
