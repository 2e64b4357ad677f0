import { type Field, slice } from "../common/bytes.js";

/**
 * SGX report body, 384 bytes (SGX ECDSA Quote Library API A.4.4; also the QE report). Keys are
 * upstream's claim names, including the literal dotted `attributes.flags`.
 */
export const SGX_BODY = {
  cpu_svn: { offset: 0, length: 16 },
  misc_select: { offset: 16, length: 4 },
  reserved1: { offset: 20, length: 12 },
  isv_ext_prod_id: { offset: 32, length: 16 },
  "attributes.flags": { offset: 48, length: 8 },
  "attributes.xfrm": { offset: 56, length: 8 },
  mr_enclave: { offset: 64, length: 32 },
  reserved2: { offset: 96, length: 32 },
  mr_signer: { offset: 128, length: 32 },
  reserved3: { offset: 160, length: 32 },
  config_id: { offset: 192, length: 64 },
  isv_prod_id: { offset: 256, length: 2 },
  isv_svn: { offset: 258, length: 2 },
  config_svn: { offset: 260, length: 2 },
  reserved4: { offset: 262, length: 42 },
  isv_family_id: { offset: 304, length: 16 },
  report_data: { offset: 320, length: 64 },
} as const satisfies Record<string, Field>;

/** Names of SGX body fields. */
export type SgxBodyField = keyof typeof SGX_BODY;

/** The bytes of one SGX body field. */
export function sgxField(body: Uint8Array, f: SgxBodyField): Uint8Array {
  return slice(body, SGX_BODY[f]);
}
