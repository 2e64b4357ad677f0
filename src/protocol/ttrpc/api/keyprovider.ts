/**
 * `keyprovider` service (ocicrypt keyprovider.proto, served by CDH for image decryption),
 * generated from `src/protocol/proto/guest-components/keyprovider.proto`.
 */
import {
  KeyProviderKeyWrapProtocolInputSchema,
  KeyProviderKeyWrapProtocolOutputSchema,
  KeyProviderService,
} from "../../proto/guest-components/keyprovider_pb.js";
import { messageCodec } from "../proto.js";

/** Fully-qualified service name. */
export const KEYPROVIDER_SERVICE = KeyProviderService.typeName;

/** Codecs for the keyprovider messages. */
export const KeyProviderMessages = {
  Input: messageCodec(KeyProviderKeyWrapProtocolInputSchema),
  Output: messageCodec(KeyProviderKeyWrapProtocolOutputSchema),
} as const;
