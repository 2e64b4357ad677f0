import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { AAEL_TAGGED_EVENT_ID, parseCcel, parseCcelRecords } from "./ccel.js";
import { replayRegister } from "./replay.js";

/** An AAEL record as guest-components appends it (EV_EVENT_TAG, one SHA-384 digest). */
function aaelRecord(mrIndex: number, text: string): Buffer {
  const body = Buffer.from(text);
  const tagged = Buffer.alloc(8 + body.length);
  tagged.writeUInt32LE(AAEL_TAGGED_EVENT_ID, 0);
  tagged.writeUInt32LE(body.length, 4);
  body.copy(tagged, 8);
  const digest = createHash("sha384").update(tagged).digest();
  const head = Buffer.alloc(4 + 4 + 4 + 2);
  head.writeUInt32LE(mrIndex, 0);
  head.writeUInt32LE(0x6, 4);
  head.writeUInt32LE(1, 8);
  head.writeUInt16LE(0x000c, 12);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(tagged.length);
  return Buffer.concat([head, digest, size, tagged]);
}

test("AAEL digest vector from guest-components: sha384 of the tagged event", () => {
  const r = aaelRecord(4, "domain operation content");
  const digest = r.subarray(14, 14 + 48).toString("hex");
  assert.equal(
    digest,
    "dad5f0e226318ffa9839b75a472c6aa7fdb5834949d0a0a22990cf04d5692440fb00f3aa0609db7e49cd8d793f670d02",
  );
});

test("runtime events appended to a real CCEL parse as AAEL and replay into RTMR3", {
  skip: sharedSkip("fixtures/evidence/eventlog/CCEL_data"),
}, () => {
  const ccel = readFileSync(sharedPath("fixtures/evidence/eventlog/CCEL_data"));
  // Cut at the end of the firmware records, as the attester does, then append AAEL records + 8×0xFF.
  const { end } = parseCcelRecords(new Uint8Array(ccel));
  assert.ok(end > 1000 && end < ccel.length);
  const pull =
    'github.com/confidential-containers PullImage {"image":"registry.example/app:1", "digest":"sha256:ab"}';
  const log = parseCcel(
    new Uint8Array(
      Buffer.concat([
        ccel.subarray(0, end),
        aaelRecord(4, pull),
        aaelRecord(4, "coco.com note plain text"),
        Buffer.alloc(8, 0xff),
      ]),
    ),
  );
  const aael = log.uefi_event_logs.filter((e) => e.details.unicode_name === "AAEL");
  assert.equal(aael.length, 2);
  assert.deepEqual(aael[0]?.details.data, {
    domain: "github.com/confidential-containers",
    operation: "PullImage",
    content: { image: "registry.example/app:1", digest: "sha256:ab" },
  });
  assert.deepEqual(aael[1]?.details.data, {
    domain: "coco.com",
    operation: "note",
    content: "plain text",
  });
  assert.ok(
    aael.every((e) => e.digest_matches_event && e.index === 4 && e.type_name === "EV_EVENT_TAG"),
  );
  let rtmr3: Buffer = Buffer.alloc(48);
  for (const e of aael)
    rtmr3 = createHash("sha384")
      .update(rtmr3)
      .update(Buffer.from(e.digests[0]?.digest ?? "", "hex"))
      .digest();
  assert.equal(Buffer.from(replayRegister(log, 4)).toString("hex"), rtmr3.toString("hex"));
  // The firmware part of the log is unchanged by the runtime events.
  assert.deepEqual(replayRegister(log, 1), replayRegister(parseCcel(new Uint8Array(ccel)), 1));
});
