/**
 * User-data in cloud-init's `#cloud-config` form, as cloud-api-adaptor writes it for a pod VM:
 * a YAML document whose only key is `write_files`, a list of `{path, content}`. The pod VM reads
 * it from the provider's user-data channel (a NoCloud `cidata` volume, a cloud's metadata
 * service, a file) and trusts nothing in it: it is host-supplied (untrusted) input.
 */
import { parseDocument, stringify } from "yaml";
import { PeerPodProtocolError } from "./errors.js";

/** Largest user-data accepted (init-data is at most 1 MiB of TOML, base64 of its gzip here). */
export const MAX_USER_DATA_BYTES = 2 << 20;
/** At most this many files. */
export const MAX_WRITE_FILES = 16;

/** One `write_files` entry. */
export interface WriteFile {
  path: string;
  content: string;
}

/** The part of cloud-config the pod VM understands. */
export interface CloudConfig {
  writeFiles: WriteFile[];
}

const HEADER = "#cloud-config";

const bad = (msg: string): never => {
  throw new PeerPodProtocolError("ERR_PEERPOD_USER_DATA", `user-data: ${msg}`);
};

/** The `#cloud-config` text for `files` (cloud-init reads it; so does the pod VM). */
export function buildCloudConfig(files: readonly WriteFile[]): string {
  for (const f of files) {
    if (!f.path.startsWith("/")) bad(`write_files path ${JSON.stringify(f.path)} is not absolute`);
  }
  const body = stringify(
    { write_files: files.map((f) => ({ path: f.path, content: f.content })) },
    { lineWidth: 0 },
  );
  const text = `${HEADER}\n${body}`;
  if (Buffer.byteLength(text) > MAX_USER_DATA_BYTES)
    bad(`larger than ${MAX_USER_DATA_BYTES} bytes`);
  return text;
}

/**
 * Parses user-data strictly, as upstream's `yaml.UnmarshalStrict` into `{write_files}` does: an
 * optional `#cloud-config` first line, one YAML mapping with only `write_files`, each entry only
 * string `path` and `content`. Size, count, aliases and duplicate keys are bounded or refused.
 */
export function parseCloudConfig(bytes: Uint8Array): CloudConfig {
  if (bytes.length > MAX_USER_DATA_BYTES) bad(`larger than ${MAX_USER_DATA_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bad("not UTF-8");
  }
  if (text.trim() === "") bad("empty");
  const first = text.split("\n", 1)[0]?.trim() ?? "";
  if (first.startsWith("#") && first !== HEADER)
    bad(`first line ${JSON.stringify(first.slice(0, 40))} is not ${HEADER}`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) bad(`not YAML: ${doc.errors[0]?.message.split("\n")[0]}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    return bad(`not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("not a mapping");
  const top = value as Record<string, unknown>;
  for (const k of Object.keys(top))
    if (k !== "write_files") bad(`unknown key ${JSON.stringify(k)}`);
  const list = top.write_files ?? [];
  if (!Array.isArray(list)) return bad("write_files is not a list");
  if (list.length > MAX_WRITE_FILES) bad(`more than ${MAX_WRITE_FILES} write_files`);
  const writeFiles: WriteFile[] = [];
  list.forEach((e: unknown, i) => {
    if (typeof e !== "object" || e === null || Array.isArray(e))
      bad(`write_files[${i}] is not a mapping`);
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== "path" && k !== "content")
        bad(`write_files[${i}]: unknown key ${JSON.stringify(k)}`);
    }
    if (typeof o.path !== "string" || o.path === "") bad(`write_files[${i}].path is not a string`);
    const content = o.content ?? "";
    if (typeof content !== "string") bad(`write_files[${i}].content is not a string`);
    writeFiles.push({ path: o.path as string, content: content as string });
  });
  return { writeFiles };
}
