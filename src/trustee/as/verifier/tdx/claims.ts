import { toHex } from "../../../../tee/common/bytes.js";
import type { CcEventLog } from "../../../../tee/eventlog/ccel.js";
import { bit } from "../../../../tee/snp/report.js";
import { TD_ATTRIBUTE_BITS, type TdBodyField, tdField } from "../../../../tee/tdx/body.js";
import type { PlatformInfo } from "../../../../tee/tdx/pck.js";
import { type DcapQuote, headerField } from "../../../../tee/tdx/quote.js";

const BODY_10: TdBodyField[] = [
  "tcb_svn",
  "mr_seam",
  "mrsigner_seam",
  "seam_attributes",
  "td_attributes",
  "xfam",
  "mr_td",
  "mr_config_id",
  "mr_owner",
  "mr_owner_config",
  "rtmr_0",
  "rtmr_1",
  "rtmr_2",
  "rtmr_3",
  "report_data",
];

/** Upstream's `quote.header` claim object. */
export function quoteHeaderClaims(q: DcapQuote): Record<string, string> {
  return {
    version: toHex(headerField(q, "VERSION")),
    att_key_type: toHex(headerField(q, "ATT_KEY_TYPE")),
    tee_type: toHex(headerField(q, "TEE_TYPE")),
    reserved: toHex(headerField(q, "RESERVED")),
    vendor_id: toHex(headerField(q, "VENDOR_ID")),
    user_data: toHex(headerField(q, "USER_DATA")),
  };
}

/** TD_ATTRIBUTES flags as upstream's bitflags names them (lowercase). */
export function tdAttributeClaims(body: Uint8Array): Record<string, boolean> {
  const v = new DataView(body.buffer, body.byteOffset + 120, 8).getBigUint64(0, true);
  const out: Record<string, boolean> = {};
  for (const [name, b] of Object.entries(TD_ATTRIBUTE_BITS)) out[name] = bit(v, b);
  return out;
}

/**
 * The claims upstream's `generate_parsed_claim` derives from a TDX quote (v4/v5), the parsed
 * CCEL (when given) and the PCK platform info: `quote.{header,body[,type,size]}`,
 * `td_attributes`, `report_data`, `init_data`, `uefi_event_logs`, `platform_instance_id`.
 */
export function tdxClaims(
  q: DcapQuote,
  log: CcEventLog | null,
  platform: PlatformInfo,
): Record<string, unknown> {
  const fields =
    q.bodyType === "tdx15"
      ? ([...BODY_10, "tee_tcb_svn2", "mr_servicetd"] as TdBodyField[])
      : BODY_10;
  const body: Record<string, string> = {};
  for (const f of fields) body[f] = toHex(tdField(q.body, f));
  const quote: Record<string, unknown> = { header: quoteHeaderClaims(q), body };
  if (q.version === 5 && q.v5Type && q.v5Size) {
    quote.type = toHex(q.v5Type);
    quote.size = toHex(q.v5Size);
  }
  const claims: Record<string, unknown> = {};
  if (log) claims.uefi_event_logs = log.uefi_event_logs;
  claims.quote = quote;
  claims.td_attributes = tdAttributeClaims(q.body);
  claims.report_data = body.report_data;
  claims.init_data = body.mr_config_id;
  if (platform.platformInstanceId) claims.platform_instance_id = toHex(platform.platformInstanceId);
  return claims;
}
