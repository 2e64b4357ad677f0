#!/usr/bin/env node
// The qemu guest's serial bridge program (see serial-listener.ts), started by the guest's init:
//   node serial-main.js <port-device> <unix://agent.sock> [--forward PORT,PORT]
import { forwardHostLoopback } from "./host-loopback.js";
import { startSerialBridge } from "./serial-listener.js";

const log = (line: string) => process.stderr.write(`coco-serial: ${line}\n`);

async function main(): Promise<void> {
  const [device, address, ...rest] = process.argv.slice(2);
  if (!device || !address) {
    throw new Error("usage: serial-main.js <device> <unix://agent.sock> [--forward P,P]");
  }
  const fwdAt = rest.indexOf("--forward");
  const ports = fwdAt >= 0 ? (rest[fwdAt + 1] ?? "").split(",").filter((p) => p) : [];
  if (ports.length > 0) {
    await forwardHostLoopback(
      ports.map((p) => Number(p)),
      { log },
    );
    log(`host loopback ports bridged: ${ports.join(",")}`);
  }
  const bridge = await startSerialBridge({ device, agentAddress: address, log });
  log(`serial bridge ready on ${device}`);
  process.on("SIGTERM", () => {
    void bridge.close().then(() => process.exit(0));
  });
  await bridge.done;
}

main().catch((err: Error) => {
  log(`fatal: ${err.message}`);
  process.exit(1);
});
