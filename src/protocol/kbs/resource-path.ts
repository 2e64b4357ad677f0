/**
 * The KBS resource path `<repository>/<type>/<tag>` (kbs/src/plugins/implementations/resource):
 * the one grammar for it. Trustee's resource plugin, the guest's KBCs and the CDH API server
 * all call {@link parseResourcePath}.
 */
import { KbsProtocolError } from "./errors.js";

/** One segment: upstream's `[A-Za-z0-9_-][A-Za-z0-9_.-]*`, at most 128 characters. */
export const RESOURCE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/** A valid resource path. */
export interface ResourcePath {
  repository: string;
  type: string;
  tag: string;
  /** `repository/type/tag`: the storage key. */
  key: string;
}

/**
 * Validates decoded segments as a resource path: exactly three, each matching
 * {@link RESOURCE_SEGMENT} (so never empty, `.` or `..`). Violations are ERR_KBS_RESOURCE_PATH
 * naming the rule.
 */
export function parseResourcePath(segments: readonly string[]): ResourcePath {
  if (segments.length !== 3) {
    throw new KbsProtocolError(
      "ERR_KBS_RESOURCE_PATH",
      `resource path must be <repository>/<type>/<tag> (got ${segments.length} segments)`,
    );
  }
  segments.forEach((s, i) => {
    if (!RESOURCE_SEGMENT.test(s)) {
      throw new KbsProtocolError(
        "ERR_KBS_RESOURCE_PATH",
        `resource path segment ${i + 1} must match [A-Za-z0-9_-][A-Za-z0-9_.-]* (at most 128 characters)`,
      );
    }
  });
  const [repository, type, tag] = segments as [string, string, string];
  return { repository, type, tag, key: `${repository}/${type}/${tag}` };
}
