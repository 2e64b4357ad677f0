import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { connect, createServer } from "node:tls";
import { createTlsCa, issueTlsCertificate } from "./tls-ca.js";

async function handshake(opts: {
  serverCa: string;
  server: { certPem: string; keyPem: string };
  clientCa: string;
  client?: { certPem: string; keyPem: string };
  servername: string;
}): Promise<"ok" | string> {
  const srv = createServer(
    {
      cert: opts.server.certPem,
      key: opts.server.keyPem,
      ca: opts.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (s) => s.end("hi"),
  );
  srv.on("tlsClientError", () => {});
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const c = connect({
        host: "127.0.0.1",
        port,
        ca: opts.serverCa,
        servername: opts.servername,
        ...(opts.client ? { cert: opts.client.certPem, key: opts.client.keyPem } : {}),
      });
      let got = "";
      c.on("data", (d) => {
        got += d;
      });
      c.on("end", () => resolve(got === "hi" ? "ok" : `no data (${got})`));
      c.on("error", (e) => resolve((e as { code?: string }).code ?? e.message));
    });
  } finally {
    srv.close();
  }
}

test("mutual TLS: only the named server and a client of the client CA get through", async () => {
  const serverCa = await createTlsCa("coco peerpod servers");
  const clientCa = await createTlsCa("coco peerpod clients");
  const otherCa = await createTlsCa("someone else");
  const server = await issueTlsCertificate(serverCa, { server: ["podvm-a"] });
  const client = await issueTlsCertificate(clientCa, { client: "adaptor" });
  const base = { serverCa: serverCa.certPem, server, clientCa: clientCa.certPem };
  assert.equal(await handshake({ ...base, client, servername: "podvm-a" }), "ok");
  // Another VM's name: the adaptor refuses the server.
  assert.equal(
    await handshake({ ...base, client, servername: "podvm-b" }),
    "ERR_TLS_CERT_ALTNAME_INVALID",
  );
  // No client certificate, or one from another CA: the server refuses the client.
  assert.notEqual(await handshake({ ...base, servername: "podvm-a" }), "ok");
  const stranger = await issueTlsCertificate(otherCa, { client: "adaptor" });
  assert.notEqual(await handshake({ ...base, client: stranger, servername: "podvm-a" }), "ok");
  // A server certificate (serverAuth only) from the client CA does not pass as a client.
  const wrongUse = await issueTlsCertificate(clientCa, { server: ["adaptor"] });
  assert.notEqual(await handshake({ ...base, client: wrongUse, servername: "podvm-a" }), "ok");
});
