/** Puts the image pull service behind CDH's ttrpc `api.ImagePullService/PullImage`. */
import { CDH_SERVICES, CdhMessages, type TtrpcServer } from "../../../protocol/ttrpc/index.js";
import { cdhFailure } from "../service.js";
import type { ImagePullService } from "./service.js";

/** Registers `PullImage`; failures answer `[CDH] [ERROR]: Image Pull failed: <code>: <detail>`. */
export function registerImagePullService(server: TtrpcServer, service: ImagePullService): void {
  server.method(
    CDH_SERVICES.imagePull,
    "PullImage",
    CdhMessages.ImagePullRequest,
    CdhMessages.ImagePullResponse,
    cdhFailure("Image Pull failed", async (req) => ({
      manifestDigest: await service.pullImage(req.imageUrl, req.bundlePath),
    })),
  );
}
