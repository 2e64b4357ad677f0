import { CocoError } from "../../errors.js";

/** Codes for `coco install` / `coco uninstall` failures. */
export type InstallErrorCode =
  /** The package lacks a program to install (its `bin` entry or the built file). */
  | "ERR_INSTALL_MISSING_PROGRAM"
  /** containerd's main config cannot be read, or does not import the drop-in. */
  | "ERR_INSTALL_CONTAINERD_CONFIG"
  /** A file in the way was not written by coco (refused rather than overwritten). */
  | "ERR_INSTALL_CONFLICT"
  /** Nothing was installed there (no install record). */
  | "ERR_INSTALL_NOT_INSTALLED"
  /** A runtime handler config file (ConfigPath) is malformed. */
  | "ERR_INSTALL_RUNTIME_CONFIG"
  /** A bad option (handler name, path). */
  | "ERR_INSTALL_OPTION";

/** An install/uninstall failure. */
export class InstallError extends CocoError<InstallErrorCode> {}
