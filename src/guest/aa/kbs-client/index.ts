export { createHttp, type HttpResponse, type KbsHttp, USER_AGENT } from "./http.js";
export {
  createRcarClient,
  createTeeKey,
  decryptResourceBody,
  GET_RESOURCE_MAX_ATTEMPTS,
  kbsHttpError,
  RCAR_MAX_ATTEMPTS,
  type RcarClient,
  type RcarClientOptions,
  SUPPORTED_HASH_ALGORITHMS,
  type TeeKey,
} from "./rcar.js";
export { isTokenValid, parseToken, type Token } from "./token.js";
export {
  createTokenKbsClient,
  parseKbsTokenAnswer,
  type TokenAndKey,
  type TokenKbsClient,
  type TokenKbsClientOptions,
  type TokenProvider,
} from "./token-client.js";
