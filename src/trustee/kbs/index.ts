/** The Key Broker Service: HTTP handler, sessions, admin auth, tokens, resource policy. */
export {
  type AclEntry,
  type AdminAuthorizer,
  type AdminConfig,
  createAdminAuthorizer,
  type IdentityProvider,
  parsePublicKeyPem,
} from "./admin-auth.js";
export {
  type AdminTokenOptions,
  generateAdminKeyPair,
  mintAdminToken,
  parsePrivateKeyPem,
} from "./admin-token.js";
export { KbsServerError, type KbsServerErrorCode } from "./errors.js";
export { createKbsHandler, createKbsRouter, type KbsDeps } from "./handler.js";
export { createMemoryReplayLedger, createStoreReplayLedger, type ReplayLedger } from "./replay.js";
export { parseResourcePath } from "./resource-path.js";
export {
  createResourcePolicy,
  type ResourceDecision,
  type ResourcePolicy,
} from "./resource-policy.js";
export {
  type AdminRequirement,
  createRouter,
  type Route,
  type RouteContext,
  type RouteMatch,
  type Router,
} from "./routes.js";
export { createSessionSealer, newSessionId, type Session, type SessionSealer } from "./session.js";
export {
  createTokenVerifier,
  jsonPointer,
  type TokenVerifier,
  type TokenVerifierConfig,
  type VerifiedToken,
} from "./token-verifier.js";
