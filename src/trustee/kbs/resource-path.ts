import { KbsServerError } from "./errors.js";

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/**
 * Validates a resource path `<repository>/<type>/<tag>` as upstream's resource plugin does:
 * exactly three segments, each `[A-Za-z0-9_-][A-Za-z0-9_.-]*` (so never `..` or empty).
 * Violations are 401 PluginInternalError, naming the segment.
 */
export function parseResourcePath(segments: readonly string[]): {
  repository: string;
  type: string;
  tag: string;
  key: string;
} {
  if (segments.length !== 3) {
    throw new KbsServerError(
      "ERR_KBS_PLUGIN_INTERNAL",
      `Plugin internal error: resource path must be <repository>/<type>/<tag> (got ${segments.length} segments)`,
    );
  }
  segments.forEach((s, i) => {
    if (!SEGMENT.test(s)) {
      throw new KbsServerError(
        "ERR_KBS_PLUGIN_INTERNAL",
        `Plugin internal error: resource path segment ${i + 1} must match [A-Za-z0-9_-][A-Za-z0-9_.-]*`,
      );
    }
  });
  const [repository, type, tag] = segments as [string, string, string];
  return { repository, type, tag, key: `${repository}/${type}/${tag}` };
}
