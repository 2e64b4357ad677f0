import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/** Where the static busybox this machine ships lives (Debian's busybox-static). */
export const BUSYBOX = "/bin/busybox";

const APPLETS = ["sh", "echo", "cat", "sleep", "env", "id", "ls", "true", "false", "printenv"];

/**
 * Makes a tiny root filesystem holding only a static busybox and a few applet links — enough for
 * tests and the dev sandbox to run real containers without pulling an image. Returns false when
 * no static busybox is installed.
 */
export function makeBusyboxRootfs(rootfs: string): boolean {
  if (!existsSync(BUSYBOX)) return false;
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  for (const a of APPLETS) {
    const link = join(rootfs, "bin", a);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  return true;
}
