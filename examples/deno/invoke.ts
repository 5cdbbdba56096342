// Invokes a Function Compute 3.0 function from Deno and prints {status, requestId, body} as JSON.
//
//   deno run --allow-net --allow-read --allow-env invoke.ts 'the event'
//
// Environment: FC_ENDPOINT (or FC_ACCOUNT_ID + FC_REGION), FC_ACCESS_KEY_ID, FC_ACCESS_KEY_SECRET,
// FC_SECURITY_TOKEN (only for temporary STS credentials), FC_FUNCTION (default "echo"),
// FC_QUALIFIER (optional: a version or alias), FC_TIMEOUT_MS (per attempt, default 30000).
// A failed call prints {"error": {code, message, status, requestId}} to stderr and exits with 1.

import { FcClient, FcError } from "fc-invoke";

const env = (name: string): string | undefined => Deno.env.get(name) || undefined;

const accessKeyId = env("FC_ACCESS_KEY_ID");
const accessKeySecret = env("FC_ACCESS_KEY_SECRET");
if (!accessKeyId || !accessKeySecret) {
  console.error("set FC_ACCESS_KEY_ID and FC_ACCESS_KEY_SECRET (and FC_SECURITY_TOKEN for STS credentials)");
  Deno.exit(2);
}
const securityToken = env("FC_SECURITY_TOKEN");
const credentials = securityToken ? { accessKeyId, accessKeySecret, securityToken } : { accessKeyId, accessKeySecret };
const endpoint = env("FC_ENDPOINT");
const client = new FcClient(
  endpoint ? { endpoint, credentials } : { accountId: env("FC_ACCOUNT_ID"), region: env("FC_REGION"), credentials },
);

try {
  const res = await client.invokeFunction(env("FC_FUNCTION") ?? "echo", {
    qualifier: env("FC_QUALIFIER"),
    body: Deno.args.join(" "),
    // Each attempt is bounded; throttling (429/503) is retried after a backoff wait.
    timeoutMs: Number(env("FC_TIMEOUT_MS") ?? 30_000),
  });
  console.log(JSON.stringify({ status: res.status, requestId: res.requestId, body: await res.text() }));
} catch (e) {
  if (!(e instanceof FcError)) throw e;
  const { code, message, status, requestId } = e;
  console.error(JSON.stringify({ error: { code, message, status, requestId } }));
  Deno.exit(1);
}
