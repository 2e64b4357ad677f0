/**
 * Reference values of a measured guest, named as the default attestation policy
 * (`as/policy/default-policies.ts`, upstream's `ear_default_policy_cpu.rego`) reads them, so a
 * guest whose evidence gave these values appraises as affirming once they are registered:
 * - SNP: the launch digest (`snp_launch_measurement`), the reported TCB and the policy and
 *   platform bits, from the same claims the SNP verifier derives (`snpClaims`);
 * - TDX: MRTD and RTMR 0–3 and XFAM from a quote's TD report body;
 * - an image the qemu sandbox boots: SHA-384 of the kernel, the initramfs, the programs disk
 *   and, optionally, the command line.
 * Values the policy tests with `in` are lists, the others plain values, as upstream's policy
 * expects.
 */
import { createHash } from "node:crypto";
import { type TdBodyField, tdField } from "../../tee/tdx/body.js";
import type { DcapQuote } from "../../tee/tdx/quote.js";
import type { SnpClaims } from "../as/verifier/snp/verify.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** SNP reference values from a report's claims. */
export function snpReferenceValues(c: SnpClaims): Record<string, unknown> {
  return {
    snp_launch_measurement: [c.measurement],
    snp_bootloader: [c.reported_tcb_bootloader],
    snp_microcode: [c.reported_tcb_microcode],
    snp_snp_svn: [c.reported_tcb_snp],
    snp_tee_svn: [c.reported_tcb_tee],
    snp_smt_enabled: c.platform_smt_enabled,
    snp_tsme_enabled: c.platform_tsme_enabled,
    snp_guest_abi_major: c.policy_abi_major,
    snp_guest_abi_minor: c.policy_abi_minor,
    snp_single_socket: c.policy_single_socket,
    snp_smt_allowed: c.policy_smt_allowed,
  };
}

/** The TD body fields registered, under the names the policy uses. */
const TDX_FIELDS: readonly TdBodyField[] = [
  "mr_td",
  "rtmr_0",
  "rtmr_1",
  "rtmr_2",
  "rtmr_3",
  "xfam",
];

/** TDX reference values (MRTD, RTMRs, XFAM) from a TDX quote; an SGX quote is refused. */
export function tdxReferenceValues(q: DcapQuote): Record<string, unknown> {
  if (q.bodyType === "sgx") throw new RangeError("an SGX quote has no TD report (MRTD, RTMRs)");
  const out: Record<string, unknown> = {};
  for (const f of TDX_FIELDS) out[f] = [hex(tdField(q.body, f))];
  return out;
}

/** SNP reference values from explicit digests (a launch digest computed elsewhere). */
export function snpLaunchDigestReferenceValues(measurementHex: string): Record<string, unknown> {
  if (!/^[0-9a-fA-F]{96}$/.test(measurementHex)) {
    throw new RangeError("an SNP launch digest is 48 bytes (96 hex digits)");
  }
  return { snp_launch_measurement: [measurementHex.toLowerCase()] };
}

/** TDX reference values from explicit digests (`mr_td`, `rtmr_N`, each 48 bytes of hex). */
export function tdxDigestReferenceValues(
  digests: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(digests)) {
    if (!/^(mr_td|rtmr_[0-3])$/.test(name)) {
      throw new RangeError(`${name}: only mr_td and rtmr_0..rtmr_3 are TDX measurements`);
    }
    if (!/^[0-9a-fA-F]{96}$/.test(v)) throw new RangeError(`${name} is 48 bytes (96 hex digits)`);
    out[name] = [v.toLowerCase()];
  }
  return out;
}

/** SHA-384 digests (hex) of the parts of a guest image the qemu sandbox boots. */
export interface GuestImageDigests {
  kernel: string;
  initrd: string;
  /** Of the read-only programs disk (`guest.img`). */
  disk: string;
  /** Of the kernel command line, when a fixed one is measured too. */
  cmdline?: string;
}

/** The SHA-384 of a kernel command line (its UTF-8 bytes). */
export function cmdlineDigest(cmdline: string): string {
  return createHash("sha384").update(cmdline, "utf8").digest("hex");
}

/**
 * Image reference values: `<prefix>_kernel`, `<prefix>_initrd`, `<prefix>_disk` and
 * `<prefix>_cmdline`.
 */
export function imageReferenceValues(
  d: GuestImageDigests,
  prefix = "qemu",
): Record<string, unknown> {
  for (const [k, v] of Object.entries(d)) {
    if (!/^[0-9a-f]{96}$/.test(v as string)) throw new RangeError(`${k}: not a SHA-384 digest`);
  }
  const out: Record<string, unknown> = {
    [`${prefix}_kernel`]: [d.kernel],
    [`${prefix}_initrd`]: [d.initrd],
    [`${prefix}_disk`]: [d.disk],
  };
  if (d.cmdline !== undefined) out[`${prefix}_cmdline`] = [d.cmdline];
  return out;
}
