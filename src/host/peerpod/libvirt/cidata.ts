/**
 * The NoCloud user-data volume (cloud-init's `cidata`): an ISO 9660 image holding `user-data`
 * and `meta-data`, made with Debian's genisoimage as cloud-init documents it (upstream's libvirt
 * provider writes the same volume with a Go ISO library).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CIDATA_LABEL, META_DATA_FILE, USER_DATA_FILE } from "../../../protocol/peerpod/index.js";
import { HostError } from "../../errors.js";

/** Writes the cidata ISO for `userData` at `out`; `instanceId` goes into meta-data. */
export async function writeCidataIso(
  out: string,
  userData: string,
  instanceId: string,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "coco-cidata-"));
  try {
    writeFileSync(join(dir, USER_DATA_FILE), userData, { mode: 0o600 });
    writeFileSync(
      join(dir, META_DATA_FILE),
      `instance-id: ${instanceId}\nlocal-hostname: ${instanceId}\n`,
    );
    await new Promise<void>((resolve, reject) => {
      execFile(
        "genisoimage",
        [
          "-quiet",
          "-output",
          out,
          "-volid",
          CIDATA_LABEL,
          "-joliet",
          "-rock",
          join(dir, USER_DATA_FILE),
          join(dir, META_DATA_FILE),
        ],
        { timeout: 60_000 },
        (err, _o, stderr) =>
          err
            ? reject(
                new HostError(
                  "ERR_PEERPOD_PROVIDER",
                  `genisoimage: ${stderr.trim() || err.message}`,
                  { cause: err },
                ),
              )
            : resolve(),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
