/**
 * TPM 2.0 command marshalling for the attester (TCG TPM 2.0 Library, Part 2 structures and
 * Part 3 commands): PCR_Read, PCR_Extend, CreatePrimary (RSA restricted signing AK),
 * EvictControl, ReadPublic, Quote, FlushContext. Big-endian throughout; password sessions
 * with empty auth.
 */
import { AaError } from "../../errors.js";
import type { TpmTransport } from "./transport.js";

/** Constants (Part 2 §6). */
export const TPM = {
  ST_NO_SESSIONS: 0x8001,
  ST_SESSIONS: 0x8002,
  RS_PW: 0x40000009,
  RH_OWNER: 0x40000001,
  RH_ENDORSEMENT: 0x4000000b,
  ALG_RSA: 0x0001,
  ALG_SHA256: 0x000b,
  ALG_NULL: 0x0010,
  ALG_RSASSA: 0x0014,
  CC_EvictControl: 0x120,
  CC_NV_DefineSpace: 0x12a,
  CC_NV_Write: 0x137,
  CC_NV_Read: 0x14e,
  CC_NV_ReadPublic: 0x169,
  CC_CreatePrimary: 0x131,
  CC_Quote: 0x158,
  CC_FlushContext: 0x165,
  CC_ReadPublic: 0x173,
  CC_PCR_Read: 0x17e,
  CC_PCR_Extend: 0x182,
  ST_ATTEST_QUOTE: 0x8018,
  GENERATED_VALUE: 0xff544347,
} as const;

/** A TPM error response (its response code names the failure, Part 2 §6.6). */
export class TpmResponseError extends AaError {
  readonly rc: number;
  constructor(cc: number, rc: number) {
    super(
      "ERR_AA_TPM",
      `TPM command 0x${cc.toString(16)} failed with response code 0x${rc.toString(16)}`,
    );
    this.rc = rc;
  }
}

/** A growable big-endian writer. */
class W {
  private parts: Buffer[] = [];
  u8(v: number) {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  u16(v: number) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array) {
    this.parts.push(Buffer.from(b));
    return this;
  }
  tpm2b(b: Uint8Array) {
    return this.u16(b.length).bytes(b);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A bounds-checked big-endian reader over untrusted TPM output. */
export class R {
  private o = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number) {
    if (this.o + n > this.b.length) throw new AaError("ERR_AA_TPM", "TPM response is truncated");
  }
  u8() {
    this.need(1);
    return this.b.readUInt8(this.o++);
  }
  u16() {
    this.need(2);
    const v = this.b.readUInt16BE(this.o);
    this.o += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.b.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }
  u64() {
    this.need(8);
    const v = this.b.readBigUInt64BE(this.o);
    this.o += 8;
    return v;
  }
  bytes(n: number) {
    this.need(n);
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  tpm2b() {
    return this.bytes(this.u16());
  }
  get offset() {
    return this.o;
  }
  slice(from: number, to: number) {
    return this.b.subarray(from, to);
  }
}

const PW_AUTH = new W().u32(9).u32(TPM.RS_PW).u16(0).u8(0).u16(0).build();

function pcrSelection(pcrs: readonly number[]): Buffer {
  const sel = [0, 0, 0];
  for (const p of pcrs) {
    if (!Number.isInteger(p) || p < 0 || p > 23)
      throw new AaError("ERR_AA_TPM", `PCR index ${p} is out of range 0..23`);
    sel[p >> 3] = (sel[p >> 3] ?? 0) | (1 << (p & 7));
  }
  return new W().u32(1).u16(TPM.ALG_SHA256).u8(3).bytes(Uint8Array.from(sel)).build();
}

async function exec(
  t: TpmTransport,
  cc: number,
  handles: number[],
  params: Uint8Array,
  auth: boolean,
): Promise<R> {
  const body = new W();
  for (const h of handles) body.u32(h);
  if (auth) body.bytes(PW_AUTH);
  body.bytes(params);
  const b = body.build();
  const cmd = new W()
    .u16(auth ? TPM.ST_SESSIONS : TPM.ST_NO_SESSIONS)
    .u32(10 + b.length)
    .u32(cc)
    .bytes(b)
    .build();
  for (let attempt = 0; ; attempt++) {
    const res = Buffer.from(await t.send(cmd));
    const r = new R(res);
    r.u16();
    const size = r.u32();
    const rc = r.u32();
    if (size !== res.length)
      throw new AaError(
        "ERR_AA_TPM",
        `TPM response size field ${size} does not match ${res.length} bytes`,
      );
    // TPM_RC_RETRY / YIELDED / TESTING are warnings asking the caller to send the command again.
    if ((rc === 0x922 || rc === 0x908 || rc === 0x90a) && attempt < 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (rc !== 0) throw new TpmResponseError(cc, rc);
    return r;
  }
}

/** Reads SHA-256 PCRs (several round trips: a TPM returns at most 8 digests per call). */
export async function pcrRead(
  t: TpmTransport,
  pcrs: readonly number[],
): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  let remaining = [...pcrs];
  for (let guard = 0; remaining.length > 0 && guard < 24; guard++) {
    const r = await exec(t, TPM.CC_PCR_Read, [], pcrSelection(remaining), false);
    r.u32(); // pcrUpdateCounter
    const count = r.u32();
    const got: number[] = [];
    for (let i = 0; i < count; i++) {
      r.u16();
      const n = r.u8();
      const sel = r.bytes(n);
      for (let byte = 0; byte < n; byte++)
        for (let bit = 0; bit < 8; bit++)
          if (((sel[byte] ?? 0) >> bit) & 1) got.push(byte * 8 + bit);
    }
    const digests = r.u32();
    if (digests !== got.length)
      throw new AaError(
        "ERR_AA_TPM",
        "PCR_Read returned a digest count that does not match its selection",
      );
    got.sort((a, b) => a - b);
    for (const p of got) out.set(p, Buffer.from(r.tpm2b()));
    if (got.length === 0) break;
    remaining = remaining.filter((p) => !out.has(p));
  }
  if (remaining.length > 0)
    throw new AaError("ERR_AA_TPM", `PCRs ${remaining.join(",")} have no SHA-256 bank`);
  return out;
}

/** Extends a SHA-256 PCR with a 32-byte digest. */
export async function pcrExtend(t: TpmTransport, pcr: number, digest: Uint8Array): Promise<void> {
  if (digest.length !== 32)
    throw new AaError("ERR_AA_TPM", "a SHA-256 PCR extend needs a 32-byte digest");
  if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23)
    throw new AaError("ERR_AA_TPM", `PCR index ${pcr} is out of range 0..23`);
  await exec(
    t,
    TPM.CC_PCR_Extend,
    [pcr],
    new W().u32(1).u16(TPM.ALG_SHA256).bytes(digest).build(),
    true,
  );
}

/** TPMT_PUBLIC of an RSA-2048 restricted signing key (RSASSA-SHA256), the attestation key. */
export function akTemplate(): Buffer {
  const attrs = 0x2 | 0x10 | 0x20 | 0x40 | 0x10000 | 0x40000; // fixedTPM fixedParent sensitiveDataOrigin userWithAuth restricted sign
  return new W()
    .u16(TPM.ALG_RSA)
    .u16(TPM.ALG_SHA256)
    .u32(attrs)
    .u16(0)
    .u16(TPM.ALG_NULL)
    .u16(TPM.ALG_RSASSA)
    .u16(TPM.ALG_SHA256)
    .u16(2048)
    .u32(0)
    .u16(0)
    .build();
}

/** Creates an AK under the endorsement hierarchy and persists it at `handle`. */
export async function provisionAk(t: TpmTransport, handle: number): Promise<void> {
  const params = new W()
    .tpm2b(new W().u16(0).u16(0).build())
    .tpm2b(akTemplate())
    .u16(0)
    .u32(0)
    .build();
  const r = await exec(t, TPM.CC_CreatePrimary, [TPM.RH_ENDORSEMENT], params, true);
  const transient = r.u32();
  try {
    await exec(
      t,
      TPM.CC_EvictControl,
      [TPM.RH_OWNER, transient],
      new W().u32(handle).build(),
      true,
    );
  } finally {
    await exec(t, TPM.CC_FlushContext, [], new W().u32(transient).build(), false).catch(
      () => undefined,
    );
  }
}

/** The RSA modulus of a key's TPMT_PUBLIC (TPM2_ReadPublic). */
export async function readRsaPublic(
  t: TpmTransport,
  handle: number,
): Promise<{ modulus: Uint8Array; exponent: number }> {
  const r = await exec(t, TPM.CC_ReadPublic, [handle], new Uint8Array(0), false);
  const pub = new R(Buffer.from(r.tpm2b()));
  if (pub.u16() !== TPM.ALG_RSA) throw new AaError("ERR_AA_TPM", "the AK is not an RSA key");
  pub.u16();
  pub.u32();
  pub.tpm2b();
  const sym = pub.u16();
  if (sym !== TPM.ALG_NULL) pub.bytes(4);
  const scheme = pub.u16();
  if (scheme !== TPM.ALG_NULL) pub.u16();
  pub.u16();
  const exponent = pub.u32() || 65537;
  return { modulus: Buffer.from(pub.tpm2b()), exponent };
}

/** TPM2_Quote over SHA-256 `pcrs`; returns the TPMS_ATTEST bytes and the marshalled TPMT_SIGNATURE. */
export async function quote(
  t: TpmTransport,
  ak: number,
  qualifyingData: Uint8Array,
  pcrs: readonly number[],
): Promise<{ message: Uint8Array; signature: Uint8Array }> {
  const params = new W().tpm2b(qualifyingData).u16(TPM.ALG_NULL).bytes(pcrSelection(pcrs)).build();
  const r = await exec(t, TPM.CC_Quote, [ak], params, true);
  r.u32(); // parameterSize
  const message = Buffer.from(r.tpm2b());
  const sigStart = r.offset;
  const alg = r.u16();
  if (alg !== TPM.ALG_RSASSA)
    throw new AaError("ERR_AA_TPM", `unexpected quote signature algorithm 0x${alg.toString(16)}`);
  r.u16();
  r.tpm2b();
  return { message, signature: Buffer.from(r.slice(sigStart, r.offset)) };
}

/** Parsed TPMS_ATTEST of a quote (Part 2 §10.12.12). */
export interface QuoteAttest {
  extraData: Uint8Array;
  pcrDigest: Uint8Array;
}

/** Parses a quote's TPMS_ATTEST; checks magic and type. */
export function parseQuoteAttest(message: Uint8Array): QuoteAttest {
  const r = new R(Buffer.from(message));
  if (r.u32() !== TPM.GENERATED_VALUE)
    throw new AaError("ERR_AA_TPM", "TPMS_ATTEST magic is not TPM_GENERATED_VALUE");
  if (r.u16() !== TPM.ST_ATTEST_QUOTE)
    throw new AaError("ERR_AA_TPM", "TPMS_ATTEST is not a quote");
  r.tpm2b();
  const extraData = Buffer.from(r.tpm2b());
  r.bytes(17);
  r.u64();
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    r.u16();
    r.bytes(r.u8());
  }
  return { extraData, pcrDigest: Buffer.from(r.tpm2b()) };
}

/** NV chunk size used for reads and writes (within every TPM's TPM2_MAX_NV_BUFFER_SIZE). */
export const NV_CHUNK = 1024;

/** The data size of an NV index (TPM2_NV_ReadPublic); throws TpmResponseError when absent. */
export async function nvSize(t: TpmTransport, index: number): Promise<number> {
  const r = await exec(t, TPM.CC_NV_ReadPublic, [index], new Uint8Array(0), false);
  const pub = new R(Buffer.from(r.tpm2b()));
  pub.u32();
  pub.u16();
  pub.u32();
  pub.tpm2b();
  return pub.u16();
}

/** Reads a whole NV index with its own (empty) auth, in chunks. */
export async function nvRead(
  t: TpmTransport,
  index: number,
  maxSize = 16 << 10,
): Promise<Uint8Array> {
  const size = await nvSize(t, index);
  if (size > maxSize)
    throw new AaError(
      "ERR_AA_TPM",
      `NV index 0x${index.toString(16)} holds ${size} bytes, over ${maxSize}`,
    );
  const parts: Buffer[] = [];
  for (let off = 0; off < size; off += NV_CHUNK) {
    const n = Math.min(NV_CHUNK, size - off);
    const r = await exec(t, TPM.CC_NV_Read, [index, index], new W().u16(n).u16(off).build(), true);
    r.u32();
    const chunk = r.tpm2b();
    if (chunk.length !== n) throw new AaError("ERR_AA_TPM", "NV_Read returned a short chunk");
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** Defines an owner-created NV index readable and writable with its empty auth. */
export async function nvDefine(t: TpmTransport, index: number, size: number): Promise<void> {
  // TPMA_NV: OWNERWRITE 0x2, AUTHWRITE 0x4, OWNERREAD 0x20000, AUTHREAD 0x40000, NO_DA 0x2000000
  const attributes = 0x2 | 0x4 | 0x20000 | 0x40000 | 0x2000000;
  const pub = new W().u32(index).u16(TPM.ALG_SHA256).u32(attributes).u16(0).u16(size).build();
  await exec(t, TPM.CC_NV_DefineSpace, [TPM.RH_OWNER], new W().u16(0).tpm2b(pub).build(), true);
}

/** Writes `data` at offset 0 of an NV index with its own (empty) auth, in chunks. */
export async function nvWrite(t: TpmTransport, index: number, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; off += NV_CHUNK) {
    const chunk = data.subarray(off, Math.min(data.length, off + NV_CHUNK));
    await exec(t, TPM.CC_NV_Write, [index, index], new W().tpm2b(chunk).u16(off).build(), true);
  }
}
