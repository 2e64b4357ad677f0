/** EAR token signing. */
export {
  createEarBroker,
  type EarBroker,
  type EarBrokerConfig,
  type SignedEar,
} from "./ear-broker.js";
