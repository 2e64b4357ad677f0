#!/usr/bin/env node
// The pod VM's services: `node main.js --user-data FILE --listen HOST:PORT [--private-mounts]
// [--insecure R,R] [--forward P,P] [--forward-host H] [-- AGENT-COMMAND…]`. Started by the pod
// VM's init (libvirt provider) or by the process provider inside its own namespaces.
import { fileURLToPath } from "node:url";
import { PodVmError } from "./errors.js";
import { listeningTcpSockets, startPodVm } from "./podvm.js";

const log = (line: string) => process.stderr.write(`coco-podvm: ${line}\n`);

function parseArgs(argv: string[]) {
  const dash = argv.indexOf("--");
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const agent = dash >= 0 ? argv.slice(dash + 1) : [];
  const get = (name: string) => {
    const i = own.indexOf(name);
    return i >= 0 ? own[i + 1] : undefined;
  };
  const userData = get("--user-data");
  const listen = get("--listen");
  if (!userData || !listen)
    throw new PodVmError(
      "ERR_PODVM_ARGS",
      "usage: main.js --user-data FILE --listen HOST:PORT [--private-mounts] [--insecure R,R] [--forward P,P] [--forward-host H] [-- AGENT…]",
    );
  const at = listen.lastIndexOf(":");
  const port = Number(listen.slice(at + 1));
  if (at < 1 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new PodVmError("ERR_PODVM_ARGS", `--listen ${listen} is not HOST:PORT`);
  const list = (s: string | undefined) => (s ? s.split(",").filter((x) => x !== "") : []);
  return {
    userDataFile: userData,
    listenHost: listen.slice(0, at),
    listenPort: port,
    privateMounts: own.includes("--private-mounts"),
    insecureRegistries: list(get("--insecure")),
    forwardPorts: list(get("--forward")).map(Number),
    ...(get("--forward-host") ? { forwardHost: get("--forward-host") as string } : {}),
    agentCommand:
      agent.length > 0
        ? agent
        : [process.execPath, fileURLToPath(new URL("../agent/main.js", import.meta.url))],
  };
}

async function main(): Promise<void> {
  const vm = await startPodVm({ ...parseArgs(process.argv.slice(2)), log });
  log(`listening sockets: ${listeningTcpSockets().join(" ")}`);
  log("ready");
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    vm.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const code = await vm.done;
  log(`the agent exited (${code})`);
  await vm.forwarder.close();
  process.exit(code === 0 ? 0 : 1);
}

main().catch((err) => {
  log(`fatal: ${(err as { code?: string }).code ?? ""} ${(err as Error).message}`);
  process.exit(1);
});
