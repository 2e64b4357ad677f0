/** The sample TEE verifier. */
export { createSampleVerifier } from "./verifier.js";
