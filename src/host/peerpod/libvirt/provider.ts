/**
 * The libvirt provider: each pod VM is a libvirt domain (Debian's libvirt-daemon-system with
 * QEMU), driven through libvirt's API with `virsh`, as upstream's libvirt provider drives it with
 * the Go bindings. Per instance: a persistent domain (create = define, start, stop = destroy,
 * delete = destroy + undefine) and two volumes in a directory storage pool, the NoCloud user-data
 * ISO (uploaded through libvirt, so a remote libvirt works too) and the console log. The pod VM
 * image (scripts/build-podvm-image, on top of the qemu sandbox's guest image) is booted directly
 * (kernel + initramfs + read-only programs disk, paths on the libvirt host). Under KVM where the
 * qemu sandbox's probe saw a guest run under it on this host, else TCG.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST_ROOT } from "../../../dist-root.js";
import { HostError } from "../../errors.js";
import { chooseAccel, findQemu } from "../../sandbox/qemu-host.js";
import type { Instance, InstanceInfo, InstanceSpec, Provider } from "../provider.js";
import { writeCidataIso } from "./cidata.js";
import { decodeTags, domainXml, METADATA_URI } from "./domain-xml.js";
import { createVirsh } from "./virsh.js";

// The checkout: dist/.. (the same bundled in dist/bundle/coco.mjs or not).
const REPO = join(DIST_ROOT, "..");
/** The script that builds the pod VM image. */
export const PODVM_BUILD_SCRIPT = join(REPO, "scripts", "build-podvm-image");
/** The default pod VM image folder (git-ignored). */
export const DEFAULT_PODVM_DIR = join(REPO, ".tools", "podvm");

/** Options of {@link createLibvirtProvider}. */
export interface LibvirtProviderOptions {
  /** libvirt connection URI (default qemu:///system). */
  uri?: string;
  /** Storage pool for per-VM volumes (default coco-podvm); created as a `dir` pool if missing. */
  pool?: string;
  /** The pool's folder when it must be created (default /var/lib/coco-ts/podvm-pool). */
  poolDir?: string;
  /** The pod VM image (default .tools/podvm, built by scripts/build-podvm-image when missing). */
  imageDir?: string;
  /** `kvm` or `qemu` (TCG); default: the qemu sandbox's KVM verdict for this host. */
  domainType?: "kvm" | "qemu";
  log?: (line: string) => void;
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NOT_FOUND = /not found|no domain|no storage vol|failed to get domain|Domain not found/i;
const NOT_RUNNING = /not running|domain is not running/i;

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** The libvirt provider (see the module comment). */
export function createLibvirtProvider(o: LibvirtProviderOptions = {}): Provider {
  const virsh = createVirsh(o.uri ?? "qemu:///system");
  const pool = o.pool ?? "coco-podvm";
  const imageDir = o.imageDir ?? DEFAULT_PODVM_DIR;
  const log = o.log ?? (() => {});
  let poolPath: string | undefined;
  let domainType: { type: "kvm" | "qemu"; why: string } | undefined;
  const ports = new Map<string, number>();

  const cidataVol = (name: string) => `${name}-cidata.iso`;
  const consoleVol = (name: string) => `${name}-console.log`;
  const check = (id: string) => {
    if (!NAME.test(id))
      throw new HostError("ERR_PEERPOD_PROVIDER", `invalid instance id ${JSON.stringify(id)}`);
    return id;
  };

  async function ensurePool(): Promise<string> {
    if (poolPath) return poolPath;
    let xml = await virsh.tryRun(["pool-dumpxml", pool], NOT_FOUND);
    if (xml === undefined) {
      const dir = o.poolDir ?? "/var/lib/coco-ts/podvm-pool";
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      await virsh.run(["pool-define-as", pool, "dir", "--target", dir]);
      await virsh.run(["pool-build", pool]);
      log(`libvirt: defined storage pool ${pool} at ${dir}`);
      xml = await virsh.run(["pool-dumpxml", pool]);
    }
    if (!/<pool[^>]*type=['"]dir['"]/.test(xml))
      throw new HostError("ERR_PEERPOD_PROVIDER", `storage pool ${pool} is not a dir pool`);
    const state = await virsh.run(["pool-info", pool]);
    if (!/State:\s+running/.test(state)) await virsh.run(["pool-start", pool]);
    const m = /<target>\s*<path>([^<]+)<\/path>/.exec(xml);
    if (!m?.[1])
      throw new HostError("ERR_PEERPOD_PROVIDER", `storage pool ${pool} has no target path`);
    poolPath = m[1];
    return poolPath;
  }

  type Image = { kernel: string; initrd: string; disk: string };
  // Built (or found up to date) once per provider, i.e. once per adaptor run: not on every pod.
  let image: Promise<Image> | undefined;
  const ensureImage = (): Promise<Image> => {
    image ??= buildImage().catch((err: unknown) => {
      image = undefined;
      throw err;
    });
    return image;
  };

  async function buildImage(): Promise<Image> {
    if (!o.imageDir && existsSync(PODVM_BUILD_SCRIPT)) {
      await new Promise<void>((resolve, reject) => {
        execFile(
          PODVM_BUILD_SCRIPT,
          [imageDir],
          { timeout: 600_000, maxBuffer: 1 << 20 },
          (err, _out, stderr) => {
            for (const line of stderr.split("\n")) if (line.trim()) log(line);
            if (err)
              reject(
                new HostError(
                  "ERR_SANDBOX_NOT_BUILT",
                  `the pod VM image could not be built: ${stderr.trim().split("\n").pop() ?? err.message}`,
                  { cause: err },
                ),
              );
            else resolve();
          },
        );
      });
    }
    const kernel = existsSync(join(imageDir, "vmlinux"))
      ? join(imageDir, "vmlinux")
      : join(imageDir, "vmlinuz");
    const initrd = join(imageDir, "initrd.cpio");
    const disk = join(imageDir, "guest.img");
    for (const f of [kernel, initrd, disk])
      if (!existsSync(f))
        throw new HostError(
          "ERR_SANDBOX_NOT_BUILT",
          `${f} is missing: run scripts/build-podvm-image ${imageDir}`,
        );
    return { kernel, initrd, disk };
  }

  async function chooseType(kernel: string): Promise<{ type: "kvm" | "qemu"; why: string }> {
    if (domainType) return domainType;
    if (o.domainType) {
      domainType = { type: o.domainType, why: "configured" };
      return domainType;
    }
    const qemu = findQemu();
    const choice = qemu
      ? await chooseAccel(qemu, kernel)
      : { accel: "tcg", why: "no qemu binary on this host to probe KVM" };
    if (choice.accel === "kvm") {
      const caps = await virsh.run(["capabilities"]);
      domainType = /<domain type=['"]kvm['"]/.test(caps)
        ? { type: "kvm", why: choice.why }
        : {
            type: "qemu",
            why: `${choice.why}, but libvirt offers no kvm domains (its daemon cannot open /dev/kvm)`,
          };
    } else domainType = { type: "qemu", why: choice.why };
    log(`libvirt: domain type ${domainType.type} (${domainType.why})`);
    return domainType;
  }

  const uploadVolume = async (name: string, file: string) => {
    await virsh.tryRun(["vol-delete", "--pool", pool, name], NOT_FOUND);
    await virsh.run([
      "vol-create-as",
      pool,
      name,
      String(Math.max(statSync(file).size, 512)),
      "--format",
      "raw",
    ]);
    await virsh.run(["vol-upload", "--pool", pool, name, file]);
  };

  const destroy = async (id: string) => {
    await virsh.tryRun(
      ["destroy", id],
      new RegExp(`${NOT_FOUND.source}|${NOT_RUNNING.source}`, "i"),
      60_000,
    );
  };

  return {
    name: "libvirt",
    async unavailable() {
      for (const [bin, pkg] of [
        ["virsh", "libvirt-clients"],
        ["genisoimage", "genisoimage"],
      ] as const) {
        const found = (process.env.PATH ?? "").split(":").some((d) => existsSync(join(d, bin)));
        if (!found) return `${bin} is not installed (Debian package ${pkg})`;
      }
      try {
        await virsh.run(["version"], 30_000);
      } catch (err) {
        return `libvirt at ${virsh.uri} does not answer: ${(err as Error).message}`;
      }
      if (
        !o.imageDir &&
        !existsSync(PODVM_BUILD_SCRIPT) &&
        !existsSync(join(imageDir, "initrd.cpio"))
      )
        return `no pod VM image in ${imageDir} and no ${PODVM_BUILD_SCRIPT} to build one`;
      return false;
    },
    async create(spec: InstanceSpec): Promise<Instance> {
      const name = check(spec.name);
      const path = await ensurePool();
      const image = await ensureImage();
      const { type } = await chooseType(image.kernel);
      if (await virsh.tryRun(["dominfo", name], NOT_FOUND))
        throw new HostError("ERR_PEERPOD_PROVIDER", `domain ${name} already exists`);
      const tmp = mkdtempSync(join(tmpdir(), "coco-libvirt-"));
      try {
        const iso = join(tmp, "cidata.iso");
        await writeCidataIso(iso, spec.userData, name);
        await uploadVolume(cidataVol(name), iso);
        // The console log is a volume too, so deleting the instance removes it through libvirt.
        const empty = join(tmp, "console.log");
        writeFileSync(empty, "");
        await uploadVolume(consoleVol(name), empty);
        const hostPort = await freeLoopbackPort();
        ports.set(name, hostPort);
        const { userData: _secretFree, ...rest } = spec;
        const xml = domainXml(rest, {
          type,
          kernel: image.kernel,
          initrd: image.initrd,
          programsDisk: image.disk,
          pool,
          cidataVolume: cidataVol(name),
          consolePath: join(path, consoleVol(name)),
          hostPort,
        });
        const file = join(tmp, "domain.xml");
        writeFileSync(file, xml);
        await virsh.run(["define", file]);
        return { id: name, name, endpoint: { host: "127.0.0.1", port: hostPort } };
      } catch (err) {
        await this.delete(name).catch(() => {});
        throw err;
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    async start(id: string) {
      await virsh.run(["start", check(id)], 120_000);
    },
    async stop(id: string) {
      await destroy(check(id));
    },
    async delete(id: string) {
      check(id);
      await destroy(id);
      await virsh.tryRun(["undefine", id], NOT_FOUND);
      const p = await ensurePool().catch(() => undefined);
      if (p) {
        await virsh.tryRun(["pool-refresh", pool], NOT_FOUND);
        for (const v of [cidataVol(id), consoleVol(id)])
          await virsh.tryRun(["vol-delete", "--pool", pool, v], NOT_FOUND);
      }
      ports.delete(id);
    },
    async list(tags: Record<string, string>): Promise<InstanceInfo[]> {
      const names = (await virsh.run(["list", "--all", "--name"]))
        .split("\n")
        .map((s) => s.trim())
        .filter((s) => NAME.test(s));
      const out: InstanceInfo[] = [];
      for (const name of names) {
        const meta = await virsh.tryRun(
          ["metadata", name, METADATA_URI],
          /metadata not found|not found|No metadata/i,
        );
        const t = meta ? decodeTags(meta) : undefined;
        if (!t) continue;
        if (!Object.entries(tags).every(([k, v]) => t[k] === v)) continue;
        const state = (await virsh.tryRun(["domstate", name], NOT_FOUND))?.trim() ?? "";
        out.push({ id: name, name, state: state === "running" ? "running" : "stopped", tags: t });
      }
      return out;
    },
    console(id: string) {
      if (!poolPath || !NAME.test(id)) return "";
      try {
        return readFileSync(join(poolPath, consoleVol(id)), "utf8")
          .replace(/\r/g, "")
          .trim()
          .split("\n")
          .slice(-15)
          .join("\n");
      } catch {
        return "";
      }
    },
  };
}
