/** The shim's version string (Connect, `-v`, `-info`). */
export const SHIM_VERSION = "coco-ts containerd-shim-coco-v2 0.1.0";
/** The runtime name containerd knows the shim by. */
export const RUNTIME_NAME = "io.containerd.coco.v2";
