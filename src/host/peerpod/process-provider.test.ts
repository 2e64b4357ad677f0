import { join } from "node:path";
import { createProcessProvider } from "./process-provider.js";
import { providerConformance } from "./provider.suite.js";

providerConformance("process", {
  make: (work) => createProcessProvider({ dir: join(work, "instances") }),
});
