// The same from CommonJS: Node ≥ 20.19 can require() the package's ES module entry.
const { FcClient } = require("fc-invoke");

const env = process.env;
const client = new FcClient({ endpoint: env.FC_ENDPOINT, credentials: { accessKeyId: env.FC_ACCESS_KEY_ID, accessKeySecret: env.FC_ACCESS_KEY_SECRET } });
client
  .invokeFunction(process.argv[2] ?? "echo", { body: process.argv[3] ?? "" })
  .then(async (res) => console.log(JSON.stringify({ status: res.status, requestId: res.requestId, body: await res.text() })))
  .catch((e) => {
    console.log(JSON.stringify({ error: e.code, status: e.status }));
    process.exitCode = 1;
  });
