/**
 * `crypto.x509.*` certificate builtins. OPA returns Go's `x509.Certificate` marshalled to
 * JSON; this file produces the commonly used subset of those fields with Go's names
 * (Subject/Issuer as pkix.Name, DNSNames, URIStrings, NotBefore, IsCA, Raw, ...), parsed by
 * @peculiar/x509 through src/crypto/x509.ts, and verifies chains with node:crypto.
 */
import { createPrivateKey, createPublicKey, X509Certificate as NodeX509 } from "node:crypto";
import { x509 } from "../../crypto/x509.js";
import { fromJs } from "../value/json.js";
import { normBig, type ObjectValue, type Value } from "../value/value.js";
import { argObject, argString, builtinError } from "./args.js";
import { pemBlocks, pemOrBase64 } from "./crypto.js";
import { Base64Error, base64Decode, base64Encode, STD, utf8 } from "./gobase64.js";
import type { BuiltinContext, BuiltinTable } from "./types.js";

/** Most certificates accepted in one call (a chain is a handful). */
const MAX_CERTS = 256;

const NAME_OIDS = {
  Country: "2.5.4.6",
  Organization: "2.5.4.10",
  OrganizationalUnit: "2.5.4.11",
  Locality: "2.5.4.7",
  Province: "2.5.4.8",
  StreetAddress: "2.5.4.9",
  PostalCode: "2.5.4.17",
} as const;

/** Go's pkix.Name JSON: string lists are null when empty. */
function pkixName(n: x509.Name): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, oid] of Object.entries(NAME_OIDS)) {
    const v = n.getField(oid);
    out[k] = v.length ? v : null;
  }
  const serial = n.getField("2.5.4.5");
  const cn = n.getField("2.5.4.3");
  out.SerialNumber = serial[serial.length - 1] ?? "";
  out.CommonName = cn[cn.length - 1] ?? "";
  return out;
}

const b64 = (b: ArrayBuffer | Uint8Array) =>
  base64Encode(STD, b instanceof Uint8Array ? b : new Uint8Array(b));
const hexToB64 = (h: string) =>
  b64(Uint8Array.from((h.match(/../g) ?? []).map((x) => Number.parseInt(x, 16))));
const orNull = <T>(a: T[]) => (a.length ? a : null);

/** Splits concatenated DER SEQUENCEs (Go's `x509.ParseCertificates` input). */
function splitDer(der: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < der.length) {
    if (der[i] !== 0x30 || i + 2 > der.length) throw new Error("x509: malformed certificate");
    let len = der[i + 1] as number;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + 2 + n > der.length)
        throw new Error("x509: malformed certificate");
      len = 0;
      for (let j = 0; j < n; j++) len = len * 256 + (der[i + 2 + j] as number);
      hdr += n;
    }
    if (i + hdr + len > der.length) throw new Error("x509: malformed certificate");
    out.push(der.subarray(i, i + hdr + len));
    i += hdr + len;
    if (out.length > MAX_CERTS) throw new Error(`more than ${MAX_CERTS} certificates`);
  }
  return out;
}

/** OPA's `getX509CertsFromString`: PEM, base64 PEM, or base64 DER (possibly a chain). */
function certDers(
  name: string,
  input: string,
  pemType = "CERTIFICATE",
  derError?: string,
): Uint8Array[] {
  let text = input;
  if (!input.startsWith("-----BEGIN")) {
    let raw: Uint8Array;
    try {
      raw = base64Decode(STD, utf8(input));
    } catch (e) {
      if (e instanceof Base64Error) throw builtinError(name, e.message);
      throw e;
    }
    const asText = new TextDecoder().decode(raw.subarray(0, 10));
    if (!asText.startsWith("-----BEGIN")) {
      try {
        return splitDer(raw);
      } catch (e) {
        throw builtinError(name, derError ?? (e as Error).message);
      }
    }
    text = new TextDecoder().decode(raw);
  }
  const out: Uint8Array[] = [];
  for (const b of pemBlocks(text)) {
    if (b.type !== pemType)
      throw builtinError(name, `PEM block type is '${b.type}', expected ${pemType}`);
    out.push(b.der);
  }
  return out;
}

/** A certificate as the Go-shaped object OPA returns. */
function certObject(der: Uint8Array): Value {
  const c = new x509.X509Certificate(der);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const of = (t: string) => names.filter((n) => n.type === t).map((n) => n.value);
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  const ski = c.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = c.getExtension(x509.AuthorityKeyIdentifierExtension);
  const keyType = new NodeX509(der).publicKey.asymmetricKeyType;
  return fromJs({
    Raw: b64(der),
    Signature: b64(c.signature),
    PublicKeyAlgorithm:
      keyType === "rsa"
        ? 1
        : keyType === "dsa"
          ? 2
          : keyType === "ec"
            ? 3
            : keyType === "ed25519"
              ? 4
              : 0,
    Version: c.extensions.length > 0 ? 3 : 1,
    SerialNumber: normBig(BigInt(`0x${c.serialNumber || "0"}`)),
    Issuer: pkixName(c.issuerName),
    Subject: pkixName(c.subjectName),
    NotBefore: c.notBefore.toISOString().replace(".000Z", "Z"),
    NotAfter: c.notAfter.toISOString().replace(".000Z", "Z"),
    KeyUsage: ku ? ku.usages : 0,
    BasicConstraintsValid: bc !== null,
    IsCA: bc?.ca ?? false,
    MaxPathLen: bc ? (bc.pathLength ?? -1) : 0,
    MaxPathLenZero: bc?.pathLength === 0,
    SubjectKeyId: ski ? hexToB64(ski.keyId) : null,
    AuthorityKeyId: aki?.keyId ? hexToB64(aki.keyId) : null,
    DNSNames: orNull(of("dns")),
    EmailAddresses: orNull(of("email")),
    IPAddresses: orNull(of("ip")),
    URIStrings: orNull(of("url")),
  });
}

function parseCerts(name: string, input: string): Uint8Array[] {
  const ders = certDers(name, input);
  for (const d of ders) {
    try {
      new NodeX509(d);
    } catch {
      throw builtinError(name, "x509: malformed certificate");
    }
  }
  return ders;
}

/** Go's `ExtKeyUsage` names (as OPA accepts them) and their OIDs. */
const EXT_KEY_USAGES: Record<string, string> = {
  KeyUsageAny: "2.5.29.37.0",
  KeyUsageServerAuth: "1.3.6.1.5.5.7.3.1",
  KeyUsageClientAuth: "1.3.6.1.5.5.7.3.2",
  KeyUsageCodeSigning: "1.3.6.1.5.5.7.3.3",
  KeyUsageEmailProtection: "1.3.6.1.5.5.7.3.4",
  KeyUsageIPSECEndSystem: "1.3.6.1.5.5.7.3.5",
  KeyUsageIPSECTunnel: "1.3.6.1.5.5.7.3.6",
  KeyUsageIPSECUser: "1.3.6.1.5.5.7.3.7",
  KeyUsageTimeStamping: "1.3.6.1.5.5.7.3.8",
  KeyUsageOCSPSigning: "1.3.6.1.5.5.7.3.9",
  KeyUsageMicrosoftServerGatedCrypto: "1.3.6.1.4.1.311.10.3.3",
  KeyUsageNetscapeServerGatedCrypto: "2.16.840.1.113730.4.1",
  KeyUsageMicrosoftCommercialCodeSigning: "1.3.6.1.4.1.311.2.1.22",
  KeyUsageMicrosoftKernelCodeSigning: "1.3.6.1.4.1.311.61.1.1",
};
const ANY_EKU = "2.5.29.37.0";

/** Go's `x509.VerifyOptions` subset OPA exposes. */
interface VerifyOptions {
  nowMs: number;
  dnsName?: string;
  /** Requested extended key usages (OIDs); Go's default is server authentication. */
  usages: string[];
}

/** Go's `checkChainForKeyUsage`: every certificate with EKUs must allow a requested usage. */
function chainAllowsUsage(chain: NodeX509[], usages: string[]): boolean {
  if (usages.includes(ANY_EKU)) return true;
  let remaining = [...usages];
  for (let i = chain.length - 1; i >= 0; i--) {
    const ekus = (chain[i] as NodeX509).keyUsage;
    if (!ekus || ekus.length === 0 || ekus.includes(ANY_EKU)) continue;
    remaining = remaining.filter((u) => ekus.includes(u));
    if (remaining.length === 0) return false;
  }
  return true;
}

/** Go's `VerifyHostname` on the leaf: IP SANs for addresses, DNS SANs (left-most `*`) otherwise. */
function hostnameMatches(leaf: NodeX509, name: string): boolean {
  const host = name.replace(/\.$/, "");
  if (/^[0-9.]+$/.test(host) || host.includes(":"))
    return leaf.checkIP(host.replace(/^\[|\]$/g, "")) !== undefined;
  return (
    leaf.checkHost(host, {
      subject: "never",
      wildcards: true,
      partialWildcards: false,
      multiLabelWildcards: false,
    }) !== undefined
  );
}

/**
 * Upstream's `verifyX509CertificateChain`: the first certificate is the trust anchor, the
 * last the leaf, the rest intermediates. Returns the verified chain leaf-first, or undefined.
 */
function verifyChain(ders: Uint8Array[], opts: VerifyOptions): Uint8Array[] | undefined {
  if (ders.length < 2) return undefined;
  const { nowMs } = opts;
  const certs = ders.map((d) => new NodeX509(d));
  const valid = (c: NodeX509) => Date.parse(c.validFrom) <= nowMs && Date.parse(c.validTo) >= nowMs;
  const signs = (issuer: NodeX509, c: NodeX509) =>
    c.checkIssued(issuer) && c.verify(issuer.publicKey);
  const root = 0;
  const leaf = certs.length - 1;
  if (
    opts.dnsName !== undefined &&
    opts.dnsName !== "" &&
    !hostnameMatches(certs[leaf] as NodeX509, opts.dnsName)
  ) {
    return undefined;
  }
  const chain = [leaf];
  let cur = leaf;
  while (chain.length <= certs.length) {
    const c = certs[cur] as NodeX509;
    if (!valid(c)) return undefined;
    if (signs(certs[root] as NodeX509, c) && (certs[root] as NodeX509).ca) {
      if (cur !== root) chain.push(root);
      if (
        !chainAllowsUsage(
          chain.map((i) => certs[i] as NodeX509),
          opts.usages,
        )
      )
        return undefined;
      return chain.map((i) => ders[i] as Uint8Array);
    }
    // An intermediate (not yet used) that is a CA and signed this certificate.
    const next = certs.findIndex(
      (x, i) => i !== root && i !== leaf && !chain.includes(i) && x.ca && valid(x) && signs(x, c),
    );
    if (next < 0) return undefined;
    chain.push(next);
    cur = next;
  }
  return undefined;
}

/** `crypto.x509.parse_and_verify_certificates_with_options` options, checked as upstream does. */
function verifyOptions(name: string, o: ObjectValue, ctx: BuiltinContext): VerifyOptions {
  const opts: VerifyOptions = {
    nowMs: Number(ctx.nowNs / 1_000_000n),
    usages: [EXT_KEY_USAGES.KeyUsageServerAuth as string],
  };
  for (const [k, v] of o.entries.values()) {
    if (k === "DNSName" && typeof v === "string") opts.dnsName = v;
    else if (k === "CurrentTime" && (typeof v === "number" || typeof v === "bigint")) {
      opts.nowMs = Number(BigInt(Math.trunc(Number(v))) / 1_000_000n);
    } else if (
      k === "MaxConstraintComparisons" &&
      (typeof v === "number" || typeof v === "bigint")
    ) {
      // Name constraints are not evaluated here (see docs/rego-builtins.md), so no budget applies.
    } else if (k === "KeyUsages" && Array.isArray(v)) {
      const bad = v.filter((u) => typeof u !== "string" || !Object.hasOwn(EXT_KEY_USAGES, u));
      if (bad.length)
        throw builtinError(
          name,
          `invalid entries for 'KeyUsages' found: [${bad.map(String).join(" ")}]`,
        );
      if (v.length) opts.usages = v.map((u) => EXT_KEY_USAGES[u as string] as string);
    } else throw builtinError(name, "invalid key option");
  }
  return opts;
}

function objectOfCsr(name: string, input: string): Value {
  const ders = certDers(
    name,
    input,
    "CERTIFICATE REQUEST",
    "asn1: structure error: tags don't match",
  );
  const der = ders[0];
  if (!der) throw builtinError(name, "asn1: structure error: no certificate request");
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw builtinError(name, `asn1: structure error: ${(e as Error).message}`);
  }
  const san = csr.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension | null;
  const names = san?.names.items ?? [];
  const of = (t: string) => orNull(names.filter((n) => n.type === t).map((n) => n.value));
  return fromJs({
    Raw: b64(der),
    Version: 0,
    Signature: b64(csr.signature),
    Subject: pkixName(csr.subjectName),
    DNSNames: of("dns"),
    EmailAddresses: of("email"),
    IPAddresses: of("ip"),
    URIStrings: of("url"),
  });
}

/** `crypto.x509.parse_keypair`: Go's tls.X509KeyPair; returns Certificate as base64 DERs. */
function keypair(name: string, certIn: string, keyIn: string): Value {
  const certs = certDers(name, pemOrBase64(name, certIn));
  if (certs.length === 0)
    throw builtinError(name, "tls: failed to find any PEM data in certificate input");
  const keyBlock = pemBlocks(pemOrBase64(name, keyIn)).find((b) => b.type.endsWith("PRIVATE KEY"));
  if (!keyBlock) throw builtinError(name, "tls: failed to find any PEM data in key input");
  try {
    const type =
      keyBlock.type === "RSA PRIVATE KEY"
        ? "pkcs1"
        : keyBlock.type === "EC PRIVATE KEY"
          ? "sec1"
          : "pkcs8";
    const key = createPrivateKey({ key: Buffer.from(keyBlock.der), format: "der", type });
    const leafKey = new NodeX509(certs[0] as Uint8Array).publicKey.export({
      format: "der",
      type: "spki",
    });
    const pub = createPublicKey(key).export({ format: "der", type: "spki" });
    if (!leafKey.equals(pub)) throw new Error("tls: private key does not match public key");
  } catch (e) {
    throw builtinError(name, (e as Error).message);
  }
  return fromJs({ Certificate: certs.map((d) => b64(d)), Leaf: null });
}

/** `crypto.x509.*` builtins. */
export const x509Builtins: BuiltinTable = {
  "crypto.x509.parse_certificates": {
    arity: 1,
    fn: (args) => {
      const name = "crypto.x509.parse_certificates";
      return parseCerts(name, argString(name, args, 0)).map(certObject);
    },
  },
  "crypto.x509.parse_and_verify_certificates": {
    arity: 1,
    fn: (args, ctx: BuiltinContext) => {
      const name = "crypto.x509.parse_and_verify_certificates";
      let ders: Uint8Array[];
      try {
        ders = parseCerts(name, argString(name, args, 0));
      } catch {
        return [false, []];
      }
      const chain = verifyChain(ders, {
        nowMs: Number(ctx.nowNs / 1_000_000n),
        usages: [EXT_KEY_USAGES.KeyUsageServerAuth as string],
      });
      return chain ? [true, chain.map(certObject)] : [false, []];
    },
  },
  "crypto.x509.parse_and_verify_certificates_with_options": {
    arity: 2,
    fn: (args, ctx: BuiltinContext) => {
      const name = "crypto.x509.parse_and_verify_certificates_with_options";
      const certs = argString(name, args, 0);
      const opts = verifyOptions(name, argObject(name, args, 1), ctx);
      let ders: Uint8Array[];
      try {
        ders = parseCerts(name, certs);
      } catch {
        return [false, []];
      }
      const chain = verifyChain(ders, opts);
      return chain ? [true, chain.map(certObject)] : [false, []];
    },
  },
  "crypto.x509.parse_certificate_request": {
    arity: 1,
    fn: (args) => {
      const name = "crypto.x509.parse_certificate_request";
      return objectOfCsr(name, argString(name, args, 0));
    },
  },
  "crypto.x509.parse_keypair": {
    arity: 2,
    fn: (args) => {
      const name = "crypto.x509.parse_keypair";
      return keypair(name, argString(name, args, 0), argString(name, args, 1));
    },
  },
};
