/**
 * The resource plugin's view of `protocol/kbs/resource-path.ts` (the one grammar): a bad path
 * is upstream's 401 PluginInternalError, naming the rule.
 */
import { KbsProtocolError } from "../../protocol/kbs/errors.js";
import { parseResourcePath as parse, type ResourcePath } from "../../protocol/kbs/resource-path.js";
import { KbsServerError } from "./errors.js";

/** Validates decoded segments as `<repository>/<type>/<tag>` (ERR_KBS_PLUGIN_INTERNAL if not). */
export function parseResourcePath(segments: readonly string[]): ResourcePath {
  try {
    return parse(segments);
  } catch (e) {
    if (!(e instanceof KbsProtocolError)) throw e;
    throw new KbsServerError("ERR_KBS_PLUGIN_INTERNAL", `Plugin internal error: ${e.message}`, {
      cause: e,
    });
  }
}
