import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AaMessages } from "./api/attestation-agent.js";
import { CdhMessages } from "./api/cdh.js";
import { KeyProviderMessages } from "./api/keyprovider.js";
import { RequestCodec, ResponseCodec } from "./messages.js";

// Expected bytes are written by hand from the proto definitions (tag = field<<3 | wire type),
// i.e. what any conforming protobuf encoder (prost, rust-protobuf, Go) emits for these values.
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => Buffer.from(s).toString("hex");

describe("ttrpc envelope bytes", () => {
  test("Request for AA GetToken(kbs) with a 50 s deadline", () => {
    const service = "attestation_agent.AttestationAgentService";
    const payload = AaMessages.GetTokenRequest.encode({ TokenType: "kbs" });
    assert.equal(hex(payload), `0a03${ascii("kbs")}`);
    const bytes = RequestCodec.encode({
      service,
      method: "GetToken",
      payload,
      timeoutNano: 50_000_000_000n,
    });
    assert.equal(
      hex(bytes),
      `0a29${ascii(service)}1208${ascii("GetToken")}1a05${hex(payload)}2080e8eda1ba01`,
    );
    const back = RequestCodec.decode(bytes);
    assert.equal(back.service, service);
    assert.equal(back.timeoutNano, 50_000_000_000n);
  });

  test("Request metadata is a repeated KeyValue", () => {
    const bytes = RequestCodec.encode({
      service: "s",
      method: "m",
      metadata: [{ key: "k", value: "v" }],
    });
    assert.equal(
      hex(bytes),
      `0a01${ascii("s")}1201${ascii("m")}2a060a01${ascii("k")}1201${ascii("v")}`,
    );
  });

  test("Response with a NOT_FOUND status and one with a payload", () => {
    const msg = "/a.B/C is not supported";
    const err = ResponseCodec.encode({ status: { code: 5, message: msg } });
    // status (field 1, 27 bytes) = code 5 (08 05) + message (field 2, 23 bytes)
    assert.equal(hex(err), `0a1b08051217${ascii(msg)}`);
    assert.equal(hex(ResponseCodec.encode({ payload: new Uint8Array([7]) })), "120107");
  });
});

describe("guest-components service messages", () => {
  test("ExtendRuntimeMeasurementRequest keeps explicit presence of RegisterIndex 0", () => {
    const c = AaMessages.ExtendRuntimeMeasurementRequest;
    assert.equal(
      hex(c.encode({ Domain: "d", Operation: "o", Content: "c", RegisterIndex: 0n })),
      `0a01${ascii("d")}1201${ascii("o")}1a01${ascii("c")}2000`,
    );
    const absent = c.decode(c.encode({ Domain: "d" }));
    assert.equal(absent.RegisterIndex, undefined);
    assert.equal(c.decode(Buffer.from("2011", "hex")).RegisterIndex, 17n);
  });

  test("enum, repeated string and bytes fields", () => {
    assert.equal(hex(AaMessages.ExtendRuntimeMeasurementResponse.encode({ Result: 2 })), "0802");
    assert.equal(
      hex(AaMessages.GetAdditionalTeesResponse.encode({ additionalTees: ["nvidia", "tpm"] })),
      `0a06${ascii("nvidia")}0a03${ascii("tpm")}`,
    );
    assert.equal(
      hex(AaMessages.GetEvidenceRequest.encode({ RuntimeData: new Uint8Array([1, 2]) })),
      "0a020102",
    );
    assert.equal(
      hex(AaMessages.GetTeeTypeResponse.encode({ tee: "sample" })),
      `0a06${ascii("sample")}`,
    );
  });

  test("SecureMountRequest map entries and CDH resource messages", () => {
    assert.equal(
      hex(
        CdhMessages.SecureMountRequest.encode({
          volumeType: "block-device",
          options: { a: "b" },
          flags: ["x"],
          mountPoint: "/m",
        }),
      ),
      `0a0c${ascii("block-device")}12060a01${ascii("a")}1201${ascii("b")}1a01${ascii("x")}2202${ascii("/m")}`,
    );
    const uri = "kbs:///default/key/1";
    assert.equal(
      hex(CdhMessages.GetResourceRequest.encode({ ResourcePath: uri })),
      `0a${uri.length.toString(16)}${ascii(uri)}`,
    );
    assert.equal(
      hex(CdhMessages.UnsealSecretOutput.encode({ plaintext: new Uint8Array([0x41]) })),
      "0a0141",
    );
    assert.equal(
      hex(
        KeyProviderMessages.Output.encode({
          KeyProviderKeyWrapProtocolOutput: new Uint8Array([1]),
        }),
      ),
      "0a0101",
    );
  });

  test("rejects truncated and garbage protobuf with a coded error", () => {
    const good = RequestCodec.encode({ service: "svc", method: "m", payload: new Uint8Array(10) });
    assert.throws(() => RequestCodec.decode(good.subarray(0, good.length - 3)), {
      code: "ERR_TTRPC_BAD_MESSAGE",
    });
    assert.throws(() => RequestCodec.decode(Buffer.from("ffffffffffffffffffffff", "hex")), {
      code: "ERR_TTRPC_BAD_MESSAGE",
    });
    // field 1 (string) with a wrong wire type
    assert.throws(() => RequestCodec.decode(Buffer.from("0d01020304", "hex")), {
      code: "ERR_TTRPC_BAD_MESSAGE",
    });
  });
});
