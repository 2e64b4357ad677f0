import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { connect } from "node:tls";
import { createTlsCa, issueTlsCertificate } from "../../crypto/tls-ca.js";
import { startForwarder } from "./forwarder.js";

const dir = mkdtempSync(join(tmpdir(), "coco-fwd-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the forwarder joins only mutually authenticated connections to the agent socket, byte for byte", async () => {
  const sock = join(dir, "agent.sock");
  // The agent's end: echoes what it gets, so the test sees the bytes arrive unchanged.
  const agent = createServer((s) => s.pipe(s)).listen(sock);
  const serverCa = await createTlsCa("servers");
  const clientCa = await createTlsCa("clients");
  const cert = await issueTlsCertificate(serverCa, { server: ["vm-1"] });
  const client = await issueTlsCertificate(clientCa, { client: "adaptor" });
  const lines: string[] = [];
  const fwd = await startForwarder({
    host: "127.0.0.1",
    port: 0,
    apf: {
      podNamespace: "ns",
      podName: "p",
      tlsServerKey: cert.keyPem,
      tlsServerCert: cert.certPem,
      tlsClientCa: clientCa.certPem,
    },
    agentAddress: `unix://${sock}`,
    log: (l) => lines.push(l),
  });
  const talk = (withCert: boolean) =>
    new Promise<string>((resolve) => {
      const c = connect({
        host: "127.0.0.1",
        port: fwd.port,
        servername: "vm-1",
        ca: serverCa.certPem,
        ...(withCert ? { cert: client.certPem, key: client.keyPem } : {}),
      });
      let got = "";
      c.on("secureConnect", () => c.write(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0x42])));
      c.on("data", (d) => {
        got += d.toString("hex");
        if (got.length >= 22) c.end();
      });
      c.on("close", () => resolve(got));
      c.on("error", (e) => resolve(`error ${(e as { code?: string }).code ?? e.message}`));
    });
  try {
    assert.equal(await talk(true), "0000000100000001010042");
    const refused = await talk(false);
    assert.ok(refused === "" || refused.startsWith("error"), refused);
    assert.ok(
      lines.some((l) => /refused/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await fwd.close();
    agent.close();
  }
});

test("the forwarder does not start without its TLS material", async () => {
  await assert.rejects(
    startForwarder({
      host: "127.0.0.1",
      port: 0,
      apf: { podNamespace: "", podName: "" },
      agentAddress: "unix:///nonexistent",
    }),
    (e: { code?: string }) => e.code === "ERR_PODVM_FORWARDER",
  );
});
