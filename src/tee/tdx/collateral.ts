import { EvidenceError } from "../common/errors.js";

/**
 * Intel PCS v4 collateral documents: TCB Info (v2/v3, `{"tcbInfo": {...}, "signature": hex}`)
 * and Enclave/QE Identity (v2, `{"enclaveIdentity": {...}, "signature": hex}`). Intel signs
 * the exact text of the inner object as it appears in the response, so the signed bytes are
 * cut out of the document text, never re-serialised.
 */

/** A signed collateral document: the parsed body, the exact signed bytes and the signature. */
export interface SignedCollateral<T> {
  body: T;
  signedText: Uint8Array;
  /** ECDSA P-256 r ‖ s (64 bytes). */
  signature: Uint8Array;
}

/** One TCB level of TCB Info v3. */
export interface TcbLevel {
  tcb: {
    sgxtcbcomponents: { svn: number }[];
    pcesvn: number;
    tdxtcbcomponents?: { svn: number }[];
  };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}

/** TCB Info (SGX or TDX), the fields the appraisal uses. */
export interface TcbInfo {
  id?: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  fmspc: string;
  pceId: string;
  tcbType?: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string };
  tdxModuleIdentities?: {
    id: string;
    mrsigner: string;
    attributes: string;
    attributesMask: string;
    tcbLevels: {
      tcb: { isvsvn: number };
      tcbDate: string;
      tcbStatus: string;
      advisoryIDs?: string[];
    }[];
  }[];
  tcbLevels: TcbLevel[];
}

/** QE / TD_QE identity (Enclave Identity v2). */
export interface EnclaveIdentity {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: {
    tcb: { isvsvn: number };
    tcbDate: string;
    tcbStatus: string;
    advisoryIDs?: string[];
  }[];
}

/** Upper bound for one collateral JSON document. */
export const COLLATERAL_MAX_SIZE = 1024 * 1024;

/** The raw text of the value of top-level key `key` in a JSON object text (balanced braces). */
function rawObjectText(text: string, key: string): string {
  const marker = `"${key}"`;
  const at = text.indexOf(marker);
  if (at < 0)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `collateral has no "${key}" object`);
  let i = text.indexOf("{", at + marker.length);
  const colon = text.slice(at + marker.length, i);
  if (i < 0 || !/^\s*:\s*$/.test(colon))
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `"${key}" is not an object`);
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(start, i + 1);
  }
  throw new EvidenceError("ERR_COLLATERAL_INVALID", `"${key}" object is not terminated`);
}

function parseSigned<T>(text: string, key: string): SignedCollateral<T> {
  if (text.length > COLLATERAL_MAX_SIZE) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `${key} document is larger than ${COLLATERAL_MAX_SIZE} bytes`,
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${key} document is not JSON`, { cause });
  }
  const body = doc?.[key];
  const sig = doc?.signature;
  if (
    typeof body !== "object" ||
    body === null ||
    typeof sig !== "string" ||
    !/^[0-9a-fA-F]{128}$/.test(sig)
  ) {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      `${key} document needs a "${key}" object and a 64-byte hex signature`,
    );
  }
  const raw = rawObjectText(text, key);
  // The cut-out text must be the same object the parser saw (guards against duplicate keys).
  if (JSON.stringify(JSON.parse(raw)) !== JSON.stringify(body)) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${key} object text is ambiguous`);
  }
  return {
    body: body as T,
    signedText: new Uint8Array(Buffer.from(raw, "utf8")),
    signature: new Uint8Array(Buffer.from(sig, "hex")),
  };
}

/** Parses a TCB Info document (PCS `tcb` endpoint body). */
export function parseTcbInfo(text: string): SignedCollateral<TcbInfo> {
  const c = parseSigned<TcbInfo>(text, "tcbInfo");
  const t = c.body;
  if (!Array.isArray(t.tcbLevels) || typeof t.fmspc !== "string" || typeof t.pceId !== "string") {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", "tcbInfo lacks fmspc, pceId or tcbLevels");
  }
  for (const [i, l] of t.tcbLevels.entries()) {
    if (
      !Array.isArray(l?.tcb?.sgxtcbcomponents) ||
      l.tcb.sgxtcbcomponents.length !== 16 ||
      typeof l.tcb.pcesvn !== "number"
    ) {
      throw new EvidenceError(
        "ERR_COLLATERAL_INVALID",
        `tcbInfo.tcbLevels[${i}] lacks 16 SGX components or pcesvn`,
      );
    }
  }
  return c;
}

/** Parses an Enclave Identity document (PCS `qe/identity` endpoint body). */
export function parseEnclaveIdentity(text: string): SignedCollateral<EnclaveIdentity> {
  const c = parseSigned<EnclaveIdentity>(text, "enclaveIdentity");
  if (!Array.isArray(c.body.tcbLevels) || typeof c.body.mrsigner !== "string") {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      "enclaveIdentity lacks mrsigner or tcbLevels",
    );
  }
  return c;
}
