/**
 * `npm run demo`: the end-to-end story, one chapter per capability. Every chapter runs real
 * components (processes on loopback, real registries and peers); a failing chapter fails the
 * demo. `npm run demo -- NAME…` runs only the named chapters.
 */
import { startEntry } from "../src/node-runtime.js";

type Chapter = {
  name: string;
  title: string;
  /** Why the chapter cannot run on this machine (data that is absent by design), or false. */
  unavailable?: () => Promise<string | false>;
  run: (log: (line: string) => void) => Promise<unknown>;
};

const chapters: Chapter[] = [
  {
    name: "rego",
    title: "Policies: our Rego engine decides CoCo policies, cross-checked with OPA",
    run: async (log) => (await import("./rego.js")).demoRego(log),
  },
  {
    name: "builtins",
    title: "Policy builtins: a KBS-style policy checks a JWT, an image allow-list, CIDRs and times",
    run: async (log) => (await import("./rego-builtins.js")).demoRegoBuiltins(log),
  },
  {
    name: "evidence",
    title: "Hardware evidence: real TDX, SGX, SEV-SNP and Azure vTPM captures verified offline",
    unavailable: async () => (await import("./evidence.js")).evidenceUnavailable(),
    run: async (log) => (await import("./evidence.js")).demoEvidence(log),
  },
  {
    name: "trustee",
    title: "Trustee: attestation with the sample TEE, EAR verdict, secret release and a denial",
    run: async (log) => (await import("./trustee.js")).demoTrustee(log),
  },
  {
    name: "guest",
    title: "Guest components: a workload reads a resource and a sealed secret through AA and CDH",
    run: async (log) => (await import("./guest.js")).demoGuest(log),
  },
  {
    name: "initdata",
    title:
      "Init-data binding: the AA and Trustee refuse a guest whose init-data differs from the launch field",
    run: async (log) => (await import("./sample-initdata.js")).demoSampleInitData(log),
  },
  {
    name: "image",
    title:
      "Confidential images: encrypt and sign, then pull, verify, decrypt and unpack in the guest",
    run: async (log) => (await import("./image.js")).demoImage(log),
  },
  {
    name: "pod",
    title:
      "Confidential pod: coco run with a sealed secret and an encrypted, signed image; exec denied",
    run: async (log) => (await import("./pod.js")).demoPod(log),
  },
  {
    name: "limits",
    title:
      "Pod resources: CPU and memory limits enforced in the guest; a host-raised limit refused",
    run: async (log) => (await import("./pod-limits.js")).demoPodLimits(log),
  },
  {
    name: "kubernetes",
    title:
      "Kubernetes node: containerd + crictl run the confidential pod through containerd-shim-coco-v2",
    unavailable: async () => (await import("./kubernetes.js")).kubernetesUnavailable(),
    run: async (log) => {
      await (await import("./kubernetes.js")).demoKubernetes(log);
    },
  },
  {
    name: "kubectl",
    title:
      "Kubernetes cluster: kubectl apply runs the confidential pod on a one-node cluster (RuntimeClass coco-dev)",
    unavailable: async () => (await import("./kubectl.js")).kubectlUnavailable(),
    run: async (log) => {
      await (await import("./kubectl.js")).demoKubectl(log);
    },
  },
  {
    name: "qemu",
    title:
      "The qemu sandbox: the same kind of pod in a real VM (KVM where it works, TCG otherwise)",
    run: async (log) => (await import("./qemu.js")).demoQemu(log),
  },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !chapters.some((c) => c.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown chapter(s) ${unknown.join(", ")}; chapters: ${chapters.map((c) => c.name).join(", ")}`,
    );
    process.exit(2);
  }
  const selected = only.length > 0 ? chapters.filter((c) => only.includes(c.name)) : chapters;
  console.log(`coco-ts demo on Node.js ${process.version} (${process.execPath})`);
  const t0 = Date.now();
  const notRun: string[] = [];
  for (const [i, chapter] of selected.entries()) {
    console.log(`\n=== ${i + 1}/${selected.length} ${chapter.title}`);
    const started = Date.now();
    const why = (await chapter.unavailable?.()) ?? false;
    if (why) {
      console.log(`  NOT RUN: ${why}`);
      notRun.push(chapter.name);
      continue;
    }
    await chapter.run((line) => console.log(`  ${line}`));
    console.log(`--- ${chapter.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(
    `\nDemo complete: ${selected.length - notRun.length} of ${selected.length} chapters in ${((Date.now() - t0) / 1000).toFixed(1)} s${notRun.length > 0 ? ` (not run: ${notRun.join(", ")})` : ""}`,
  );
}

startEntry("demo", main).catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  console.error(
    `\nDEMO FAILED: ${typeof code === "string" ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
