/**
 * ASN.1 schemas for the vendor certificate extensions we read: Intel's SGX extension
 * (OID 1.2.840.113741.1.13.1, "Intel SGX PCK Certificate and CRL Profile" §1.5) and AMD's
 * VCEK/VLEK TCB extensions (OIDs 1.3.6.1.4.1.3704.1.*, "Versioned Chip Endorsement Key (VCEK)
 * Certificate and KDS Interface Specification" Table 8). The one place in this area that uses
 * @peculiar/asn1-schema; the schemas are declared by calling its decorators as functions.
 */
import {
  AsnArray,
  AsnParser,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
} from "@peculiar/asn1-schema";
import { EvidenceError } from "./errors.js";

class IntValue {
  int = 0;
}
AsnType({ type: AsnTypeTypes.Choice })(IntValue);
AsnProp({ type: AsnPropTypes.Integer })(IntValue.prototype, "int");

class OctetValue {
  octets = new ArrayBuffer(0);
}
AsnType({ type: AsnTypeTypes.Choice })(OctetValue);
AsnProp({ type: AsnPropTypes.OctetString })(OctetValue.prototype, "octets");

class EnumValue {
  value = 0;
}
AsnType({ type: AsnTypeTypes.Choice })(EnumValue);
AsnProp({ type: AsnPropTypes.Enumerated })(EnumValue.prototype, "value");

class BoolValue {
  value = false;
}
AsnType({ type: AsnTypeTypes.Choice })(BoolValue);
AsnProp({ type: AsnPropTypes.Boolean })(BoolValue.prototype, "value");

/** One `SEQUENCE { OBJECT IDENTIFIER, ANY }` entry of the SGX extension. */
class SgxEntry {
  id = "";
  value = new ArrayBuffer(0);
}
AsnType({ type: AsnTypeTypes.Sequence })(SgxEntry);
AsnProp({ type: AsnPropTypes.ObjectIdentifier })(SgxEntry.prototype, "id");
AsnProp({ type: AsnPropTypes.Any })(SgxEntry.prototype, "value");

class SgxEntries extends AsnArray<SgxEntry> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: SgxEntry })(SgxEntries);

function parseOr<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof EvidenceError) throw cause;
    throw new EvidenceError("ERR_CERT_EXTENSION", `${what} is not valid DER`, { cause });
  }
}

/** Parses a DER INTEGER that fits a JS number. */
export function parseDerInteger(der: Uint8Array, what: string): number {
  return parseOr(what, () => {
    const v = AsnParser.parse(der, IntValue).int;
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new Error("not a small integer");
    return v;
  });
}

/** Parses a DER ENUMERATED. */
export function parseDerEnumerated(der: Uint8Array, what: string): number {
  return parseOr(what, () => AsnParser.parse(der, EnumValue).value);
}

/** Parses a DER BOOLEAN. */
export function parseDerBoolean(der: Uint8Array, what: string): boolean {
  return parseOr(what, () => AsnParser.parse(der, BoolValue).value);
}

/** Parses a DER OCTET STRING. */
export function parseDerOctetString(der: Uint8Array, what: string): Uint8Array {
  return parseOr(what, () => new Uint8Array(AsnParser.parse(der, OctetValue).octets));
}

/** A decoded SGX extension node: a map of OID → raw DER value. */
export type SgxExtensionMap = Map<string, Uint8Array>;

/** Parses a `SEQUENCE OF SEQUENCE { OID, ANY }` into OID → DER of the value. */
export function parseSgxEntries(der: Uint8Array, what: string): SgxExtensionMap {
  return parseOr(what, () => {
    const list = AsnParser.parse(der, SgxEntries);
    const out: SgxExtensionMap = new Map();
    for (const e of list) out.set(e.id, new Uint8Array(e.value));
    return out;
  });
}
