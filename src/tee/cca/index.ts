export { parseCcaEvidence, realmKeyOf } from "./evidence.js";
export {
  CCA_COLLECTION_TAG,
  CCA_PLATFORM_LABEL,
  CCA_REALM_LABEL,
  CCA_REALM_PROFILE,
  CCA_TOKEN_MAX,
  type CcaPlatformClaims,
  type CcaRealmClaims,
  type CcaSwComponent,
  type CcaToken,
  isSecuredLifecycle,
  isValidLifecycle,
  parseCcaToken,
  parsePlatformClaims,
  parseRealmClaims,
} from "./token.js";
