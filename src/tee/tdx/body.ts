import { type Field, slice } from "../common/bytes.js";

/** TD report body 1.0 (TDX DCAP Quoting Library API A.3.2) and 1.5 additions (A.3.3). */
export const TD_BODY = {
  tcb_svn: { offset: 0, length: 16 },
  mr_seam: { offset: 16, length: 48 },
  mrsigner_seam: { offset: 64, length: 48 },
  seam_attributes: { offset: 112, length: 8 },
  td_attributes: { offset: 120, length: 8 },
  xfam: { offset: 128, length: 8 },
  mr_td: { offset: 136, length: 48 },
  mr_config_id: { offset: 184, length: 48 },
  mr_owner: { offset: 232, length: 48 },
  mr_owner_config: { offset: 280, length: 48 },
  rtmr_0: { offset: 328, length: 48 },
  rtmr_1: { offset: 376, length: 48 },
  rtmr_2: { offset: 424, length: 48 },
  rtmr_3: { offset: 472, length: 48 },
  report_data: { offset: 520, length: 64 },
  // TDX 1.5 body only:
  tee_tcb_svn2: { offset: 584, length: 16 },
  mr_servicetd: { offset: 600, length: 48 },
} as const satisfies Record<string, Field>;

/** Names of TD body fields. */
export type TdBodyField = keyof typeof TD_BODY;

/** The bytes of one TD body field. */
export function tdField(body: Uint8Array, f: TdBodyField): Uint8Array {
  return slice(body, TD_BODY[f]);
}

/** TD_ATTRIBUTES bits (TDX Module ABI spec, TDREPORT): the ones upstream reports as claims. */
export const TD_ATTRIBUTE_BITS = {
  debug: 0n,
  septve_disable: 28n,
  protection_keys: 30n,
  key_locker: 31n,
  perfmon: 63n,
} as const;
