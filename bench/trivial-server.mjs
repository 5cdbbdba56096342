// A trivial HTTP server for the end-to-end benchmark, run in its own process so that its CPU is
// not counted as the client's. It reads each request body and answers 200 with a 2-byte body.
// It does NOT verify signatures (the unsigned bare-fetch baseline must get the same answer).
//
// Started by bench/run.mjs with an IPC channel: it sends { port } once listening, answers
// "stats" with { connections, requests } so far, and exits on "exit" or when the parent goes.

import { createServer } from "node:http";

let connections = 0;
let requests = 0;

const server = createServer((req, res) => {
  requests++;
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": "2",
      "x-fc-request-id": "bench-" + requests,
    });
    res.end("ok");
  });
});
server.on("connection", () => connections++);
// Idle keep-alive sockets must outlive the pauses between rounds: a server closing a socket the
// client is about to reuse is a classic source of flaky ECONNRESET.
server.keepAliveTimeout = 10 * 60_000;
server.headersTimeout = 10 * 60_000 + 1000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  if (process.send) process.send({ port });
  else console.log(`listening on http://127.0.0.1:${port}`);
});

process.on("message", (msg) => {
  if (msg === "stats") process.send({ stats: { connections, requests } });
  if (msg === "exit") {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
