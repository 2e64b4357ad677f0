import { createProcessSandboxBackend } from "./process.js";
import { sandboxConformance } from "./sandbox.suite.js";

sandboxConformance("process", () => createProcessSandboxBackend());
