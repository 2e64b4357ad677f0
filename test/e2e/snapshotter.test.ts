/**
 * coco-snapshotter with a real containerd 2.x and a real registry: an image pulled through CRI for
 * a coco runtime handler leaves no layer blob in containerd's content store (only the manifest
 * and config the host needs), while the same pull for containerd's runc handler (overlayfs) does
 * store the layer: the peer that shows this test can fail.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type SnapshotterServer,
  startSnapshotterServer,
} from "../../src/host/snapshotter/grpc-server.js";
import { createSnapshotter } from "../../src/host/snapshotter/service.js";
import { SnapshotStore } from "../../src/host/snapshotter/store.js";
import { pushBusyboxImage } from "../helpers/busybox-image.js";
import { type ContainerdHarness, containerdSkip, startContainerd } from "../helpers/containerd.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe("coco-snapshotter under containerd (guest pull: no layer on the node)", {
  skip: containerdSkip(),
}, () => {
  let registry: TestRegistry;
  let c: ContainerdHarness;
  let snap: SnapshotterServer;
  let image: { tagged: string; manifestDigest: string };
  let layerDigest: string;
  let configDigest: string;
  let snapDir: string;

  before(async () => {
    registry = await startRegistry();
    const pushed = await pushBusyboxImage(registry.host, "coco/snap", "v1");
    image = pushed;
    const manifest = (await (
      await fetch(`${registry.url}/v2/coco/snap/manifests/v1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { config: { digest: string }; layers: { digest: string }[] };
    layerDigest = manifest.layers[0]?.digest as string;
    configDigest = manifest.config.digest;
    // The snapshotter runs in this process, on a socket in its own folder.
    snapDir = mkdtempSync(join(tmpdir(), "coco-snap-"));
    mkdirSync(join(snapDir, "empty"));
    snap = await startSnapshotterServer(
      createSnapshotter(new SnapshotStore(join(snapDir, "snapshots.json")), join(snapDir, "empty")),
      join(snapDir, "snap.sock"),
    );
    c = await startContainerd({
      importImages: false,
      snapshotAnnotations: true,
      proxyPlugins: { coco: { type: "snapshot", address: snap.socket } },
      runtimes: [{ name: "coco-dev", runtimeType: "io.containerd.coco.v2", snapshotter: "coco" }],
    });
  });
  after(async () => {
    await c?.stop();
    await snap?.close();
    await registry?.stop();
    if (snapDir) rmSync(snapDir, { recursive: true, force: true });
  });

  const podConfig = (handler: string) => {
    const p = join(c.dir, `${handler}-${randomUUID()}.json`);
    writeFileSync(
      p,
      JSON.stringify({
        metadata: { name: "puller", namespace: "default", uid: randomUUID() },
        // How crictl (and kubelets without KEP-4216) tell CRI which handler an image is for.
        annotations: { "io.containerd.cri.runtime-handler": handler },
      }),
    );
    return p;
  };

  test("a pull for coco-dev stores the manifest and config but no layer; the chain is in the coco snapshotter", async () => {
    await c.crictlOk(["pull", "--pod-config", podConfig("coco-dev"), image.tagged], {
      timeoutMs: 120_000,
    });
    const content = await c.ctrOk(["content", "ls", "-q"]);
    assert.match(content, new RegExp(image.manifestDigest));
    assert.match(content, new RegExp(configDigest));
    assert.doesNotMatch(content, new RegExp(layerDigest), "the layer blob never reached the node");
    const snaps = await c.ctrOk(["snapshots", "--snapshotter", "coco", "ls"]);
    assert.match(snaps, /Committed/);
    assert.equal(
      (await c.ctrOk(["snapshots", "--snapshotter", "overlayfs", "ls"])).trim().split("\n").length,
      1,
      "nothing unpacked by overlayfs",
    );
    const images = await c.crictlOk(["images", "-o", "json"]);
    assert.match(images, /coco\/snap/);
  });

  test("peer: the same image pulled for containerd's runc handler (overlayfs) stores its layer", async () => {
    // A fresh reference to the same bytes, so containerd does not reuse the first pull's record.
    await c.ctrOk(["images", "rm", image.tagged]);
    await c.crictlOk(["pull", "--pod-config", podConfig("runc"), image.tagged], {
      timeoutMs: 120_000,
    });
    const content = await c.ctrOk(["content", "ls", "-q"]);
    assert.match(content, new RegExp(layerDigest));
  });
});
