export { type Adaptor, type AdaptorOptions, createAdaptor, type GcReport } from "./adaptor.js";
export { type AgentProxy, startAgentProxy } from "./agent-proxy.js";
export { serveHypervisor } from "./hypervisor-server.js";
export {
  type InstanceChoice,
  type InstanceType,
  type InstanceTypeConfig,
  parseInstanceTypes,
  selectInstance,
} from "./instance-type.js";
export { instanceName, TAGS } from "./names.js";
export { createProcessProvider, type ProcessProviderOptions } from "./process-provider.js";
export type { Endpoint, Instance, InstanceInfo, InstanceSpec, Provider } from "./provider.js";
