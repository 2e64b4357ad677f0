/**
 * A private libvirt daemon for tests: Debian's `libvirtd` in session mode (all its sockets,
 * configuration, domains, pools and logs under one folder), run as the unprivileged user
 * `nobody` (libvirt runs a session daemon for any non-root user; as root it would be the system
 * daemon with fixed paths shared by every test). Stopped by PID; the folder's cleanup also kills
 * the QEMU processes of its domains (their command lines name the folder).
 */
import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A running private libvirtd. */
export interface PrivateLibvirtd {
  /** The connection URI for virsh / the provider. */
  uri: string;
  /** Where volumes of the test pool go (owned by the daemon's user). */
  poolDir: string;
  pid: number;
  stop(): Promise<void>;
}

/** Why a private libvirtd cannot run here, or false. */
export function libvirtdUnavailable(): string | false {
  if (process.getuid?.() !== 0) return "needs root (to run libvirtd as nobody)";
  for (const [bin, pkg] of [
    ["/usr/sbin/libvirtd", "libvirt-daemon-system"],
    ["/usr/bin/virsh", "libvirt-clients"],
    ["/usr/bin/genisoimage", "genisoimage"],
    ["/usr/bin/setpriv", "util-linux"],
  ] as const) {
    if (!existsSync(bin))
      return `${bin} is missing (Debian package ${pkg}; scripts/setup installs it)`;
  }
  return false;
}

const ids = () => {
  const nobody = execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim();
  const group = execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim();
  let kvm = "";
  try {
    kvm = execFileSync("getent", ["group", "kvm"], { encoding: "utf8" }).split(":")[2] ?? "";
  } catch {
    // no kvm group: TCG only
  }
  return { uid: Number(nobody), gid: Number(group), kvm };
};

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

/** Starts libvirtd (session mode, as nobody) under `dir`/libvirt; resolves once it answers. */
export async function startPrivateLibvirtd(dir: string): Promise<PrivateLibvirtd> {
  const { uid, gid, kvm } = ids();
  const home = join(dir, "libvirt");
  for (const d of ["run", "config/libvirt", "cache", "data", "pool"])
    mkdirSync(join(home, d), { recursive: true });
  // QEMU's own stdout/stderr to a file (not virtlogd, which would be one more daemon to stop).
  writeFileSync(join(home, "config/libvirt/qemu.conf"), 'stdio_handler = "file"\n');
  // The daemon's own config file lives in the folder, so its command line names the folder.
  const conf = join(home, "config/libvirt/libvirtd.conf");
  writeFileSync(conf, "");
  chownTree(home, uid, gid);
  // The test folder itself (mkdtemp: 0700) must let the daemon in.
  for (let p = dir; p !== "/" && p !== "/tmp"; p = join(p, "..")) {
    const m = statSync(p).mode & 0o777;
    if ((m & 0o001) === 0) execFileSync("chmod", ["o+x", p]);
  }
  const env = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    XDG_RUNTIME_DIR: join(home, "run"),
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_DATA_HOME: join(home, "data"),
  };
  const child = spawn(
    "setpriv",
    [
      `--reuid=${uid}`,
      `--regid=${gid}`,
      ...(kvm ? [`--groups=${kvm}`] : ["--clear-groups"]),
      "/usr/sbin/libvirtd",
      "--timeout",
      "0",
      "--config",
      conf,
    ],
    { env, stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let err = "";
  child.stderr?.on("data", (d) => {
    err = (err + d).slice(-4096);
  });
  const socket = join(home, "run/libvirt/libvirt-sock");
  const uri = `qemu+unix:///session?socket=${socket}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`libvirtd exited: ${err}`);
    if (existsSync(socket)) {
      try {
        execFileSync("virsh", ["-c", uri, "-q", "version"], { stdio: "ignore", timeout: 30_000 });
        break;
      } catch {
        // not yet
      }
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`libvirtd did not answer within 60 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.unref();
  const pid = child.pid ?? 0;
  return {
    uri,
    poolDir: join(home, "pool"),
    pid,
    async stop() {
      if (child.exitCode !== null) return;
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        return;
      }
      for (let i = 0; i < 100 && child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
