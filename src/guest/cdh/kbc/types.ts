import type { ResourceUri } from "../../../protocol/resource-uri/index.js";

/** Where CDH gets KBS resources from (upstream's KBC seam: cc_kbc or offline_fs_kbc). */
export interface ResourceGetter {
  readonly name: string;
  getResource(uri: ResourceUri): Promise<Uint8Array>;
  close?(): void;
}
