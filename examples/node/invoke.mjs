// Invoke a Function Compute 3.0 function from Node.
//
//   FC_ACCOUNT_ID=… FC_REGION=cn-hangzhou FC_ACCESS_KEY_ID=… FC_ACCESS_KEY_SECRET=… \
//     node invoke.mjs my-func '{"hello":"world"}'
//
// FC_ENDPOINT replaces FC_ACCOUNT_ID + FC_REGION (a proxy, or the local test server);
// FC_SECURITY_TOKEN makes the credentials temporary STS ones.
import { FcClient, FcError } from "fc-invoke";

const env = process.env;
const [functionName = "echo", body = ""] = process.argv.slice(2);
const client = new FcClient({
  ...(env.FC_ENDPOINT ? { endpoint: env.FC_ENDPOINT } : { accountId: env.FC_ACCOUNT_ID, region: env.FC_REGION }),
  credentials: {
    accessKeyId: env.FC_ACCESS_KEY_ID,
    accessKeySecret: env.FC_ACCESS_KEY_SECRET,
    securityToken: env.FC_SECURITY_TOKEN,
  },
});

try {
  const res = await client.invokeFunction(functionName, { body, logType: "Tail" });
  console.log(JSON.stringify({ status: res.status, requestId: res.requestId, functionError: res.functionError, body: await res.text(), log: res.log }));
} catch (e) {
  if (!(e instanceof FcError)) throw e;
  console.log(JSON.stringify({ error: e.code, status: e.status, requestId: e.requestId, message: e.message }));
  process.exitCode = 1;
}
