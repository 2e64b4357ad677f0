/**
 * Mutation fuzzing of what the agent reads from the untrusted host: the init-data block image
 * (magic, u64 length, gzip), the init-data annotation (base64 of gzip) and agent ttrpc request
 * messages. Property: a value or an `AgentProtocolError` with a code; gunzip output bounded.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { decodeAgentMessage, encodeAgentMessage, toPolicyInput } from "./codec.js";
import { AgentProtocolError } from "./errors.js";
import {
  buildInitDataDisk,
  decodeInitDataAnnotation,
  encodeInitDataAnnotation,
  parseInitDataDisk,
} from "./initdata-transport.js";
import { AGENT_METHODS } from "./methods.js";

const TOML =
  'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package agent_policy"\n';

describe("agent host-input fuzzing", () => {
  test("mutated init-data disks parse or throw a coded AgentProtocolError", async (t) => {
    const disk = buildInitDataDisk(TOML);
    // A gzip bomb candidate: 64 MiB of zeros compresses to ~64 KiB.
    const bomb = new Uint8Array(gzipSync(Buffer.alloc(64 * 1024 * 1024)));
    const bombDisk = new Uint8Array(16 + bomb.length);
    bombDisk.set(disk.subarray(0, 8));
    new DataView(bombDisk.buffer).setBigUint64(8, BigInt(bomb.length), true);
    bombDisk.set(bomb, 16);
    const stats = await fuzz({
      name: "initdata-disk",
      seed: 0xd15c,
      iterations: 3000,
      errorClass: AgentProtocolError,
      gen: (rng) =>
        rng.chance(0.01)
          ? bombDisk
          : mutate(rng, disk, { lengthOffsets: [8, 12], boundaries: [8, 16, 26] }),
      show: (b) => `${b.length} bytes`,
      target: (b) => parseInitDataDisk(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });

  test("mutated init-data annotations decode or throw a coded AgentProtocolError", async (t) => {
    const ann = new Uint8Array(Buffer.from(encodeInitDataAnnotation(TOML)));
    const stats = await fuzz({
      name: "initdata-annotation",
      seed: 0xa770,
      iterations: 3000,
      errorClass: AgentProtocolError,
      gen: (rng) => Buffer.from(mutate(rng, ann)).toString("latin1"),
      target: (s) => decodeInitDataAnnotation(s),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0);
  });

  test("mutated agent requests decode to policy input or throw a coded AgentProtocolError", async (t) => {
    const names = [
      ...new Set(
        Object.values(AGENT_METHODS)
          .map((m) => m.request)
          .filter((n) => n !== ""),
      ),
    ];
    const samples = [
      encodeAgentMessage("CreateContainerRequest", {
        containerId: "c1",
        execId: "e1",
        storages: [{ driver: "d", source: "s", mountPoint: "/m" }],
      }),
      encodeAgentMessage("ExecProcessRequest", {
        containerId: "c1",
        execId: "e",
        process: { args: ["sh", "-c", "x"], env: ["A=B"], cwd: "/" },
      }),
      encodeAgentMessage("CopyFileRequest", {
        path: "/x",
        fileMode: 0o644,
        data: new Uint8Array(32),
      }),
    ];
    const stats = await fuzz({
      name: "agent-messages",
      seed: 0xa6e,
      iterations: 5000,
      errorClass: AgentProtocolError,
      gen: (rng) => ({ name: rng.pick(names), bytes: mutate(rng, rng.pick(samples)) }),
      show: (x) => `${x.name}: ${Buffer.from(x.bytes).toString("hex").slice(0, 200)}`,
      // What the agent does next with a request: render kata's serde JSON for the policy.
      target: ({ name, bytes }) =>
        JSON.stringify(toPolicyInput(name, decodeAgentMessage(name, bytes))),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
