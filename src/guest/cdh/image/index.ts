/** The guest image pull service (CDH `PullImage`). */

export {
  type CdhImageDeps,
  connectCdh,
  keyproviderUnwrap,
  keyUnwrapRequest,
  parseKeyUnwrapResponse,
} from "./cdh-client.js";
export { DEFAULT_IMAGE_WORK_DIR, type ImagePullConfig, parseImagePullConfig } from "./config.js";
export { createImagePullService, type ImagePullDeps, type ImagePullService } from "./service.js";
export { registerImagePullService } from "./ttrpc.js";
