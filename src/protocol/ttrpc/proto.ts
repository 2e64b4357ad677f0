/**
 * A typed codec over a message schema generated from the project's `.proto` files
 * (`src/protocol/proto`, TypeScript by protoc-gen-es). `decode` rejects malformed bytes with a
 * coded error; `encode` takes a plain init object (missing fields take their defaults).
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { TtrpcError } from "./errors.js";

/**
 * A typed encoder/decoder for one message: `T` is the decoded message, `I` the plain object
 * `encode` takes (protobuf-es local camelCase names; every field optional).
 */
export interface MessageCodec<T, I = Partial<T>> {
  readonly typeName: string;
  readonly desc: DescMessage;
  encode(value: I): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Encodes a plain init object as `desc`. */
export function encodeMessage<D extends DescMessage>(
  desc: D,
  value: MessageInitShape<D>,
): Uint8Array {
  return toBinary(desc, create(desc, value));
}

/** Decodes `bytes` as `desc`; malformed bytes are an `ERR_TTRPC_BAD_MESSAGE`. */
export function decodeMessage<D extends DescMessage>(desc: D, bytes: Uint8Array): MessageShape<D> {
  try {
    return fromBinary(desc, bytes, { readUnknownFields: false });
  } catch (err) {
    throw new TtrpcError(
      "ERR_TTRPC_BAD_MESSAGE",
      `malformed protobuf for ${desc.typeName}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Returns the codec of a generated message schema. */
export function messageCodec<D extends DescMessage>(
  desc: D,
): MessageCodec<MessageShape<D>, MessageInitShape<D>> {
  return {
    typeName: desc.typeName,
    desc,
    encode(value) {
      return encodeMessage(desc, value);
    },
    decode(bytes) {
      return decodeMessage(desc, bytes);
    },
  };
}
