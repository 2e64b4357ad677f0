/**
 * The one entry to `@peculiar/x509` (certificates, CSRs, extensions). The library resolves its
 * services through tsyringe, which needs the reflect-metadata polyfill loaded first, and it needs
 * a WebCrypto provider: both are set here so no other file has to know.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as never);

export { x509 };
