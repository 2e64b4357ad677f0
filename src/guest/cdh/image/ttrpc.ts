/** Puts the image pull service behind CDH's ttrpc `api.ImagePullService/PullImage`. */
import { CDH_SERVICES, CdhMessages, type TtrpcServer } from "../../../protocol/ttrpc/index.js";
import type { ImagePullService } from "./service.js";

/** Registers `PullImage`; failures answer `[CDH] [ERROR]: Image Pull failed: <code>: <detail>`. */
export function registerImagePullService(server: TtrpcServer, service: ImagePullService): void {
  server.method(
    CDH_SERVICES.imagePull,
    "PullImage",
    CdhMessages.ImagePullRequest,
    CdhMessages.ImagePullResponse,
    async (req) => {
      try {
        return { manifestDigest: await service.pullImage(req.imageUrl, req.bundlePath) };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw new Error(
          `[CDH] [ERROR]: Image Pull failed: ${typeof code === "string" ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}`,
        );
      }
    },
  );
}
