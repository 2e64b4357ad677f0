import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTar, type TestEntry, writeTestImage } from "../../src/oci/testing.js";

/** The static busybox Debian ships (busybox-static). */
export const BUSYBOX_BIN = "/bin/busybox";

const APPLETS = [
  "sh",
  "echo",
  "cat",
  "sleep",
  "env",
  "id",
  "ls",
  "true",
  "false",
  "printenv",
  "sha256sum",
  "hostname",
  "head",
  "cut",
];

/** A busybox image pushed to a registry. */
export interface PushedImage {
  /** `host/repo:tag` */
  tagged: string;
  /** `host/repo@sha256:…` */
  pinned: string;
  manifestDigest: string;
}

/**
 * Builds a one-layer image holding a static busybox and applet links, and pushes it to
 * `registryHost/repo:tag` with skopeo (a real peer). `extra` adds files to the layer.
 */
export async function pushBusyboxImage(
  registryHost: string,
  repo = "coco/busybox",
  tag = "v1",
  extra: TestEntry[] = [],
): Promise<PushedImage> {
  const entries: TestEntry[] = [
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", content: readFileSync(BUSYBOX_BIN), mode: 0o755 },
    ...APPLETS.map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkname: "busybox" })),
    { name: "etc/", type: "directory" },
    { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "proc/", type: "directory" },
    { name: "dev/", type: "directory" },
    { name: "sys/", type: "directory" },
    ...extra,
  ];
  const dir = mkdtempSync(join(tmpdir(), "coco-bbimg-"));
  try {
    const layout = join(dir, "layout");
    const { manifestDigest } = writeTestImage(layout, tag, [{ tar: await buildTar(entries) }], {
      Cmd: ["/bin/sh", "-c", "echo hello from busybox"],
      Env: ["PATH=/bin"],
    });
    const r = spawnSync(
      "skopeo",
      [
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:${tag}`,
        `docker://${registryHost}/${repo}:${tag}`,
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`skopeo copy failed: ${r.stderr || r.error?.message}`);
    return {
      tagged: `${registryHost}/${repo}:${tag}`,
      pinned: `${registryHost}/${repo}@${manifestDigest}`,
      manifestDigest,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
