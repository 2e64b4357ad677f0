export { writeCidataIso } from "./cidata.js";
export {
  type DomainLayout,
  decodeTags,
  domainXml,
  encodeTags,
  METADATA_URI,
} from "./domain-xml.js";
export {
  createLibvirtProvider,
  DEFAULT_PODVM_DIR,
  type LibvirtProviderOptions,
  PODVM_BUILD_SCRIPT,
} from "./provider.js";
export { createVirsh, type Virsh } from "./virsh.js";
