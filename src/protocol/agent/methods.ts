/** The ttrpc service names the agent serves, as upstream spells them. */
export const AGENT_SERVICE = "grpc.AgentService";
/** The health service on the same connection (not policy-checked). */
export const HEALTH_SERVICE = "grpc.Health";

/** One RPC: its request and reply message names (in package `grpc`). */
export interface MethodSpec {
  readonly request: string;
  readonly response: string;
}

const EMPTY = "google.protobuf.Empty";

/**
 * Every `grpc.AgentService` RPC at kata HEAD. The policy entrypoint of an RPC is its request
 * message name (both ReadStdout and ReadStderr evaluate `ReadStreamRequest`). RPCs whose messages
 * are not stated in proto-files.ts (network configuration, memory agent) have `request: ""` and
 * are answered UNIMPLEMENTED without decoding.
 */
export const AGENT_METHODS: Readonly<Record<string, MethodSpec>> = {
  CreateContainer: { request: "CreateContainerRequest", response: EMPTY },
  StartContainer: { request: "StartContainerRequest", response: EMPTY },
  RemoveContainer: { request: "RemoveContainerRequest", response: EMPTY },
  ExecProcess: { request: "ExecProcessRequest", response: EMPTY },
  SignalProcess: { request: "SignalProcessRequest", response: EMPTY },
  WaitProcess: { request: "WaitProcessRequest", response: "WaitProcessResponse" },
  UpdateContainer: { request: "UpdateContainerRequest", response: EMPTY },
  UpdateEphemeralMounts: { request: "UpdateEphemeralMountsRequest", response: EMPTY },
  StatsContainer: { request: "StatsContainerRequest", response: "StatsContainerResponse" },
  PauseContainer: { request: "PauseContainerRequest", response: EMPTY },
  ResumeContainer: { request: "ResumeContainerRequest", response: EMPTY },
  RemoveStaleVirtiofsShareMounts: {
    request: "RemoveStaleVirtiofsShareMountsRequest",
    response: EMPTY,
  },
  GetDiagnosticData: { request: "GetDiagnosticDataRequest", response: "GetDiagnosticDataResponse" },
  WriteStdin: { request: "WriteStreamRequest", response: "WriteStreamResponse" },
  ReadStdout: { request: "ReadStreamRequest", response: "ReadStreamResponse" },
  ReadStderr: { request: "ReadStreamRequest", response: "ReadStreamResponse" },
  CloseStdin: { request: "CloseStdinRequest", response: EMPTY },
  TtyWinResize: { request: "TtyWinResizeRequest", response: EMPTY },
  UpdateInterface: { request: "", response: "" },
  UpdateRoutes: { request: "", response: "" },
  ListInterfaces: { request: "ListInterfacesRequest", response: "" },
  ListRoutes: { request: "ListRoutesRequest", response: "" },
  AddARPNeighbors: { request: "", response: "" },
  GetIPTables: { request: "GetIPTablesRequest", response: "" },
  SetIPTables: { request: "SetIPTablesRequest", response: "" },
  GetMetrics: { request: "GetMetricsRequest", response: "Metrics" },
  MemAgentMemcgSet: { request: "", response: "" },
  MemAgentCompactSet: { request: "", response: "" },
  CreateSandbox: { request: "CreateSandboxRequest", response: EMPTY },
  DestroySandbox: { request: "DestroySandboxRequest", response: EMPTY },
  OnlineCPUMem: { request: "OnlineCPUMemRequest", response: EMPTY },
  ReseedRandomDev: { request: "ReseedRandomDevRequest", response: EMPTY },
  GetGuestDetails: { request: "GuestDetailsRequest", response: "GuestDetailsResponse" },
  MemHotplugByProbe: { request: "MemHotplugByProbeRequest", response: EMPTY },
  SetGuestDateTime: { request: "SetGuestDateTimeRequest", response: EMPTY },
  CopyFile: { request: "CopyFileRequest", response: EMPTY },
  GetOOMEvent: { request: "GetOOMEventRequest", response: "OOMEvent" },
  AddSwap: { request: "AddSwapRequest", response: EMPTY },
  AddSwapPath: { request: "AddSwapPathRequest", response: EMPTY },
  GetVolumeStats: { request: "VolumeStatsRequest", response: "" },
  ResizeVolume: { request: "ResizeVolumeRequest", response: EMPTY },
  SetPolicy: { request: "SetPolicyRequest", response: EMPTY },
};

/** `grpc.Health` RPCs. */
export const HEALTH_METHODS: Readonly<Record<string, MethodSpec>> = {
  Check: { request: "CheckRequest", response: "HealthCheckResponse" },
  Version: { request: "CheckRequest", response: "VersionCheckResponse" },
};
