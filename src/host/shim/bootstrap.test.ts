import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import {
  BootstrapParamsSchema,
  BootstrapResultSchema,
} from "../../protocol/proto/containerd/runtime/bootstrap/v1/bootstrap_pb.js";
import {
  DEFAULT_SOCKET_DIR,
  parseShimFlags,
  readStartParams,
  shimSocketAddress,
  startReply,
} from "./bootstrap.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => Buffer.from(s).toString("hex");
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

// containerd 2.x runs: <shim> -namespace NS -address GRPC -publish-binary BIN -id ID [-bundle B] [-debug] ACTION
const ARGV = [
  "-namespace",
  "k8s.io",
  "-address",
  "/c.sock",
  "-publish-binary",
  "/bin/containerd",
  "-id",
  "abc",
];

describe("shim flags (containerd's Go flag conventions)", () => {
  test("parses containerd's start and delete invocations", () => {
    const f = parseShimFlags([...ARGV, "-debug", "start"]);
    assert.equal(f.namespace, "k8s.io");
    assert.equal(f.address, "/c.sock");
    assert.equal(f.publishBinary, "/bin/containerd");
    assert.equal(f.id, "abc");
    assert.equal(f.debug, true);
    assert.equal(f.action, "start");
    const d = parseShimFlags([...ARGV, "--bundle=/b", "delete"]);
    assert.equal(d.bundle, "/b");
    assert.equal(d.action, "delete");
    assert.equal(parseShimFlags(["-v"]).version, true);
    assert.equal(parseShimFlags(["-info"]).info, true);
  });

  test("refuses unknown flags and flags without their value", () => {
    assert.throws(() => parseShimFlags(["-nope", "start"]), code("ERR_SHIM_ARGS"));
    assert.throws(() => parseShimFlags(["-id"]), code("ERR_SHIM_ARGS"));
  });
});

describe("the start handshake", () => {
  test("golden bytes: BootstrapParams (containerd 2.3+ stdin) and BootstrapResult (our stdout)", () => {
    const params = toBinary(
      BootstrapParamsSchema,
      create(BootstrapParamsSchema, {
        instanceId: "abc",
        namespace: "k8s.io",
        containerdTtrpcAddress: "/t",
        socketDir: "/s",
      }),
    );
    // instance_id (1), namespace (2), containerd_ttrpc_address (5), socket_dir (9, optional)
    assert.equal(
      hex(params),
      `0a03${ascii("abc")}1206${ascii("k8s.io")}2a02${ascii("/t")}4a02${ascii("/s")}`,
    );
    const p = readStartParams(parseShimFlags([...ARGV, "start"]), params, {});
    assert.equal(p.bootstrap, true);
    assert.equal(p.ttrpcAddress, "/t");
    assert.equal(p.socketDir, "/s");
    const reply = startReply(p, "unix:///s/x");
    // version (1) = 3, address (2), protocol (3) = "ttrpc"
    assert.equal(hex(reply), `0803120b${ascii("unix:///s/x")}1a05${ascii("ttrpc")}`);
    assert.equal(fromBinary(BootstrapResultSchema, reply).address, "unix:///s/x");
  });

  test("legacy containerd (≤ 2.2): flags and environment, JSON reply", () => {
    const p = readStartParams(parseShimFlags([...ARGV, "start"]), new Uint8Array(0), {
      TTRPC_ADDRESS: "/c.sock.ttrpc",
      GRPC_ADDRESS: "/c.sock",
    });
    assert.equal(p.bootstrap, false);
    assert.equal(p.ttrpcAddress, "/c.sock.ttrpc");
    assert.equal(p.socketDir, DEFAULT_SOCKET_DIR);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(startReply(p, "unix:///x"))), {
      version: 3,
      address: "unix:///x",
      protocol: "ttrpc",
    });
  });

  test("runtime options on stdin (a google.protobuf.Any) are not mistaken for BootstrapParams", () => {
    const any = toBinary(
      AnySchema,
      create(AnySchema, {
        typeUrl: "runtimeoptions.v1.Options",
        value: new Uint8Array([10, 1, 47]),
      }),
    );
    const p = readStartParams(parseShimFlags([...ARGV, "start"]), any, {});
    assert.equal(p.bootstrap, false);
    assert.equal(p.id, "abc");
  });

  test("garbage, truncated or other-pod BootstrapParams fall back to the flags", () => {
    const other = toBinary(
      BootstrapParamsSchema,
      create(BootstrapParamsSchema, { instanceId: "zzz", namespace: "k8s.io" }),
    );
    for (const stdin of [new Uint8Array([0xff, 0xff, 0xff]), other, other.subarray(0, 3)]) {
      const p = readStartParams(parseShimFlags([...ARGV, "start"]), stdin, {});
      assert.equal(p.bootstrap, false);
      assert.equal(p.id, "abc");
    }
  });

  test("a start without id or namespace is refused", () => {
    assert.throws(
      () => readStartParams(parseShimFlags(["start"]), new Uint8Array(0), {}),
      code("ERR_SHIM_ARGS"),
    );
  });

  test("the socket is named as containerd names its shims' (sha256 of address/ns/key)", () => {
    const d = createHash("sha256").update("/c.sock/k8s.io/pod1").digest("hex");
    assert.equal(
      shimSocketAddress("/run/containerd/s", "/c.sock", "k8s.io", "pod1"),
      `unix:///run/containerd/s/${d}`,
    );
  });
});
