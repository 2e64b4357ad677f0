/** `keyprovider` protos (ocicrypt keyprovider.proto, served by CDH for image decryption). */
import { buildProtoFile, messageCodec } from "../proto.js";

const file = buildProtoFile({
  name: "keyprovider.proto",
  package: "keyprovider",
  messages: {
    KeyProviderKeyWrapProtocolInput: [
      { name: "KeyProviderKeyWrapProtocolInput", number: 1, kind: "bytes" },
    ],
    KeyProviderKeyWrapProtocolOutput: [
      { name: "KeyProviderKeyWrapProtocolOutput", number: 1, kind: "bytes" },
    ],
  },
});

/** Fully-qualified service name. */
export const KEYPROVIDER_SERVICE = "keyprovider.KeyProviderService";

/** KeyProviderKeyWrapProtocolInput. */
export interface KeyWrapInput {
  KeyProviderKeyWrapProtocolInput: Uint8Array;
}
/** KeyProviderKeyWrapProtocolOutput. */
export interface KeyWrapOutput {
  KeyProviderKeyWrapProtocolOutput: Uint8Array;
}

/** Codecs for the keyprovider messages. */
export const KeyProviderMessages = {
  Input: messageCodec<KeyWrapInput>(file, "keyprovider.KeyProviderKeyWrapProtocolInput"),
  Output: messageCodec<KeyWrapOutput>(file, "keyprovider.KeyProviderKeyWrapProtocolOutput"),
} as const;
