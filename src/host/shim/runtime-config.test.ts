import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { OptionsSchema } from "../../protocol/proto/containerd/types/runtimeoptions/v1/api_pb.js";
import { runtimeConfigOf } from "./runtime-config.js";

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
const any = (init: object) => ({
  typeUrl: "runtimeoptions.v1.Options",
  value: toBinary(OptionsSchema, create(OptionsSchema, init)),
});

test("reads the handler's configuration from ConfigPath, or from the options body", () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-shim-rc-"));
  try {
    const path = join(dir, "coco-qemu.toml");
    writeFileSync(
      path,
      '# written by coco install containerd\nhandler = "coco-qemu"\nruntime_class = "qemu"\n',
    );
    assert.deepEqual(runtimeConfigOf(any({ configPath: path })), {
      handler: "coco-qemu",
      runtimeClass: "qemu",
    });
    assert.deepEqual(
      runtimeConfigOf(
        any({
          configBody: new TextEncoder().encode('handler = "dev"\nruntime_class = "coco-dev"'),
        }),
      ),
      { handler: "dev", runtimeClass: "coco-dev" },
    );
    assert.throws(
      () => runtimeConfigOf(any({ configPath: join(dir, "missing.toml") })),
      code("ERR_SHIM_SPEC"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no options, other option types and empty options mean no configuration", () => {
  assert.equal(runtimeConfigOf(undefined), undefined);
  assert.equal(
    runtimeConfigOf({ typeUrl: "containerd.runc.v1.Options", value: new Uint8Array([8, 1]) }),
    undefined,
  );
  assert.equal(runtimeConfigOf(any({})), undefined);
});

test("garbage options and configurations the installer's parser refuses are coded errors", () => {
  assert.throws(
    () =>
      runtimeConfigOf({
        typeUrl: "runtimeoptions.v1.Options",
        value: new Uint8Array([0xff, 0xff]),
      }),
    code("ERR_SHIM_SPEC"),
  );
  for (const text of [
    "handler = ",
    'sandbox = "x"',
    'handler = "a"\nruntime_class = 3',
    'handler = "a"\nruntime_class = "nope"',
  ])
    assert.throws(
      () => runtimeConfigOf(any({ configBody: new TextEncoder().encode(text) })),
      code("ERR_INSTALL_RUNTIME_CONFIG"),
      text,
    );
});
