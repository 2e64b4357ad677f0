/**
 * The libvirt domain of one pod VM: direct kernel boot of the pod VM image (kernel, initramfs,
 * read-only programs disk), the user-data volume attached read-only (label `cidata`), the sample
 * TEE launch field and the host's knobs on the kernel command line, the console to a file, and a
 * user-mode network whose one host forward, bound to the host's loopback, reaches the VM's
 * forwarder port. Tags ride in the domain's metadata for garbage collection.
 */
import { FORWARDER_PORT } from "../../../protocol/peerpod/index.js";
import { kernelCommandLine } from "../../sandbox/qemu-args.js";
import type { InstanceSpec } from "../provider.js";

/** The metadata namespace of our domains' tags. */
export const METADATA_URI = "urn:coco-ts:peerpod:1";

/** Everything that decides the domain XML besides the instance spec. */
export interface DomainLayout {
  /** `kvm` where the host's KVM runs guests (the qemu sandbox's probe), else `qemu` (TCG). */
  type: "kvm" | "qemu";
  kernel: string;
  initrd: string;
  /** The programs disk (label coco-guest), read-only. */
  programsDisk: string;
  pool: string;
  /** The user-data volume's name in `pool`. */
  cidataVolume: string;
  consolePath: string;
  /** The host loopback port forwarded to the VM's forwarder. */
  hostPort: number;
}

const esc = (s: string) =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");

/** Encodes tags for the domain's metadata (base64 of JSON: nothing XML-special inside). */
export function encodeTags(tags: Record<string, string>): string {
  return Buffer.from(JSON.stringify(tags)).toString("base64");
}

/** Decodes tags from `virsh metadata` output; undefined when it holds none of ours. */
export function decodeTags(xml: string): Record<string, string> | undefined {
  const m = /<(?:\w+:)?peerpod\b[^>]*>\s*([A-Za-z0-9+/=]+)\s*</.exec(xml);
  if (!m?.[1]) return undefined;
  try {
    const v = JSON.parse(Buffer.from(m[1], "base64").toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
    return out;
  } catch {
    return undefined;
  }
}

/** The domain XML for `spec` laid out as `l`. */
export function domainXml(spec: Omit<InstanceSpec, "userData">, l: DomainLayout): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(spec.name))
    throw new RangeError(`instance name ${JSON.stringify(spec.name)} is not a DNS label`);
  const cmdline = `${kernelCommandLine({
    qemu: "",
    accel: l.type === "kvm" ? "kvm" : "tcg",
    cpu: "",
    kernel: l.kernel,
    initrd: l.initrd,
    guestDisk: l.programsDisk,
    stateDir: "",
    memoryMiB: spec.memoryMiB,
    cpus: spec.vcpus,
    insecureRegistries: spec.insecureRegistries,
    forwardPorts: spec.forwardPorts,
    ...(spec.launchField ? { sampleLaunchField: spec.launchField } : {}),
  })} coco.podvm=1`;
  const cpu = l.type === "kvm" ? `<cpu mode='host-passthrough'/>` : `<cpu mode='maximum'/>`;
  return `<domain type='${l.type}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>${esc(spec.name)}</name>
  <title>coco peer pod ${esc(spec.podNamespace)}/${esc(spec.podName)}</title>
  <metadata>
    <coco:peerpod xmlns:coco='${METADATA_URI}'>${encodeTags(spec.tags)}</coco:peerpod>
  </metadata>
  <memory unit='MiB'>${spec.memoryMiB}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${esc(l.kernel)}</kernel>
    <initrd>${esc(l.initrd)}</initrd>
    <cmdline>${esc(cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  ${cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${esc(l.programsDisk)}'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='${esc(l.pool)}' volume='${esc(l.cidataVolume)}'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <serial type='file'>
      <source path='${esc(l.consolePath)}'/>
      <target port='0'/>
    </serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='user,id=coconet,hostfwd=tcp:127.0.0.1:${l.hostPort}-10.0.2.15:${FORWARDER_PORT}'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=coconet,bus=pcie.0,addr=0x0a'/>
  </qemu:commandline>
</domain>
`;
}
