import { createHash } from "node:crypto";
import { fromHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import { type CcEventLog, TCG_ALGORITHMS } from "./ccel.js";

/** Node hash name of a TCG algorithm name ("SHA-384" → "sha384"). */
function nodeHash(alg: string): { node: string; size: number } {
  for (const a of Object.values(TCG_ALGORITHMS)) {
    if (a.name === alg && a.node && a.size) return { node: a.node, size: a.size };
  }
  throw new EvidenceError("ERR_EVIDENCE_UNSUPPORTED", `cannot replay ${alg} digests`);
}

/**
 * Replays the log for one measurement register: starting from zero, extend with every digest
 * of algorithm `alg` recorded for `index`, in log order (upstream's `replay`).
 */
export function replayRegister(log: CcEventLog, index: number, alg = "SHA-384"): Uint8Array {
  const { node, size } = nodeHash(alg);
  let mr: Uint8Array = new Uint8Array(size);
  for (const e of log.uefi_event_logs) {
    if (e.index !== index) continue;
    for (const d of e.digests) {
      if (d.alg !== alg) continue;
      mr = new Uint8Array(createHash(node).update(mr).update(fromHex(d.digest, "digest")).digest());
    }
  }
  return mr;
}

/** An expected register value: CCEL MR index (RTMR n = n + 1) and its value. */
export interface ReferenceMeasurement {
  index: number;
  value: Uint8Array;
  alg?: string;
}

/** Throws ERR_EVENTLOG_REPLAY naming the first register whose replay differs from its value. */
export function replayAndMatch(log: CcEventLog, refs: readonly ReferenceMeasurement[]): void {
  for (const ref of refs) {
    const got = replayRegister(log, ref.index, ref.alg);
    if (!Buffer.from(got).equals(Buffer.from(ref.value))) {
      throw new EvidenceError(
        "ERR_EVENTLOG_REPLAY",
        `event log replay of MR index ${ref.index} gives ${Buffer.from(got).toString("hex")}, the quote holds ${Buffer.from(ref.value).toString("hex")}`,
      );
    }
  }
}
