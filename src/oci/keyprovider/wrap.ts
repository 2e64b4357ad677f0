/**
 * The image-encryption side of the CoCo key provider (guest-components `coco_keyprovider`,
 * `enc_mods`): ocicrypt's keyprovider `WrapKey` JSON in, an AnnotationPacket (the layer options
 * wrapped with AES-256-GCM under a KEK that Trustee holds) out. I/O (key files, randomness,
 * Trustee registration) is passed in.
 */
import { randomBytes as nodeRandomBytes, randomUUID } from "node:crypto";
import { OciError } from "../errors.js";
import { kidResourcePath } from "../kbs-admin.js";
import { wrapAnnotationPacket } from "../layer/kbs-annotation.js";

/** The provider name the parameters are read under (ocicrypt `provider:attestation-agent:…`). */
export const KEYPROVIDER_NAME = "attestation-agent";
/** Where upstream puts a KEK it generated when no `keyid` is given. */
export const DEFAULT_KEY_REPO_PATH = "/default/image-kek";
/** Largest WrapKey input accepted (ocicrypt sends the layer options, a few hundred bytes). */
export const MAX_WRAP_INPUT_BYTES = 1 << 20;

/** Parameters of one wrap request (`sample=…::keyid=…::keypath=…::algorithm=…`). */
export interface WrapParams {
  sample: boolean;
  keyid?: string;
  keypath?: string;
  algorithm?: string;
}

/** What {@link createKeyWrapper} needs from the outside world. */
export interface KeyWrapperDeps {
  /** Reads a KEK file (`keypath=`). */
  readKeyFile(path: string): Promise<Uint8Array>;
  /** Stores a KEK in Trustee under `repo/type/tag` (set when `--kbs` and a key are given). */
  register?: (resourcePath: string, key: Uint8Array) => Promise<void>;
  randomBytes?: (n: number) => Uint8Array;
  log?: (line: string) => void;
}

function bad(why: string): never {
  throw new OciError("ERR_OCI_ENCRYPT", `keyprovider WrapKey: ${why}`);
}

/** Parses `k=v::k=v` (upstream `parse_input_params`; unknown keys are refused by name). */
export function parseWrapParams(text: string): WrapParams {
  const out: WrapParams = { sample: false };
  for (const field of text.split("::")) {
    const eq = field.indexOf("=");
    if (eq < 0) continue;
    const k = field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (k === "sample") out.sample = v === "true";
    else if (k === "keyid") out.keyid = v;
    else if (k === "keypath") out.keypath = v;
    else if (k === "algorithm") out.algorithm = v;
    else
      bad(
        `unknown parameter ${JSON.stringify(k.slice(0, 40))} (sample, keyid, keypath, algorithm)`,
      );
  }
  return out;
}

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${where} must be an object`);
  return v as Record<string, unknown>;
}

/** Decodes a Go `[]byte` JSON value: standard base64 text (Go) or a number array (serde). */
function goBytes(v: unknown, where: string): Buffer {
  if (typeof v === "string") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) bad(`${where} is not base64`);
    return Buffer.from(v, "base64");
  }
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Buffer.from(v as number[]);
  }
  return bad(`${where} must be base64 bytes`);
}

/** A WrapKey handler: input JSON bytes → output JSON bytes, as coco_keyprovider answers. */
export type KeyWrapper = (input: Uint8Array) => Promise<Uint8Array>;

/** Creates the WrapKey handler. */
export function createKeyWrapper(deps: KeyWrapperDeps): KeyWrapper {
  const rand = deps.randomBytes ?? ((n: number) => nodeRandomBytes(n));
  return async (input) => {
    if (input.length > MAX_WRAP_INPUT_BYTES) bad(`input is over ${MAX_WRAP_INPUT_BYTES} bytes`);
    let doc: Record<string, unknown>;
    try {
      doc = asObject(JSON.parse(Buffer.from(input).toString("utf8")), "input");
    } catch (err) {
      if (err instanceof OciError) throw err;
      return bad("input is not JSON");
    }
    const kw = asObject(doc.keywrapparams, "keywrapparams");
    if (kw.optsdata === undefined || kw.optsdata === null)
      bad("illegal keywrapparams without optsdata");
    const optsdata = goBytes(kw.optsdata, "keywrapparams.optsdata");
    if (kw.ec === undefined || kw.ec === null) bad("illegal keywrapparams without ec");
    const params = asObject(asObject(kw.ec, "keywrapparams.ec").Parameters, "ec.Parameters");
    const mine = params[KEYPROVIDER_NAME];
    if (!Array.isArray(mine) || mine.length === 0) {
      bad(`illegal encryption provider without ${KEYPROVIDER_NAME}`);
    }
    // ocicrypt passes one element (`provider:attestation-agent:<params>`); upstream uses the first.
    const p = parseWrapParams(goBytes(mine[0], "ec.Parameters").toString("utf8"));
    if (p.sample) {
      bad(
        "sample=true uses upstream's publicly known hard-coded key and IV; coco-ts refuses it (use keyid= with keypath= or a generated key)",
      );
    }
    if (p.algorithm !== undefined && p.algorithm !== "A256GCM") {
      bad(
        `algorithm=${p.algorithm.slice(0, 20)} is not supported: coco-ts wraps with A256GCM only (upstream ignores this parameter and always uses A256GCM)`,
      );
    }
    let kek: Uint8Array;
    if (p.keypath !== undefined) {
      kek = await deps.readKeyFile(p.keypath);
      if (kek.length !== 32) bad(`the key in keypath must be 32 bytes, found ${kek.length}`);
    } else {
      kek = rand(32);
    }
    // Upstream writes a generated kid as `/default/image-kek/<uuid>`, which its own CDH cannot
    // parse as a resource URI; we write the `kbs://` form both CDHs resolve.
    const kid = p.keyid ?? `kbs://${DEFAULT_KEY_REPO_PATH}/${randomUUID()}`;
    const resourcePath = kidResourcePath(kid);
    if (deps.register) {
      await deps.register(resourcePath, kek);
      deps.log?.(`registered the KEK as ${resourcePath}`);
    }
    const packet = wrapAnnotationPacket(optsdata, kek, kid);
    // serde writes `annotation: Vec<u8>` as a JSON number array; ocicrypt (Go) accepts it.
    return Buffer.from(JSON.stringify({ keywrapresults: { annotation: [...packet] } }));
  };
}
