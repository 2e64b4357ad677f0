// run-tests: timeout 20 min (two pod VM boots under a private libvirtd, TCG where KVM cannot run a guest; each may take the adaptor's 600 s start limit on a busy host)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  libvirtdUnavailable,
  type PrivateLibvirtd,
  startPrivateLibvirtd,
} from "../../../../test/helpers/libvirtd.js";
import { providerConformance } from "../provider.suite.js";
import { createLibvirtProvider } from "./provider.js";

const POOL = "coco-conformance";
let lv: PrivateLibvirtd | undefined;

providerConformance("libvirt", {
  skip: () =>
    process.env.COCO_SKIP_VM_TESTS === "1" ? "COCO_SKIP_VM_TESTS=1" : libvirtdUnavailable(),
  prepare: async (work) => {
    lv = await startPrivateLibvirtd(work);
  },
  make: () => createLibvirtProvider({ uri: lv!.uri, pool: POOL, poolDir: lv!.poolDir }),
  // The domain and both of its volumes (user-data, console) are gone through libvirt.
  assertGone: async (_p, id) => {
    const virsh = (...a: string[]) =>
      execFileSync("virsh", ["-c", lv!.uri, "-q", ...a], { encoding: "utf8" });
    assert.doesNotMatch(virsh("list", "--all", "--name"), new RegExp(`^${id}$`, "m"));
    assert.doesNotMatch(virsh("vol-list", POOL), new RegExp(id));
  },
  teardown: async () => lv?.stop(),
});
