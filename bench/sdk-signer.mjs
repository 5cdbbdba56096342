// The official signer, used the way @alicloud/fc20230330 4.7.6 uses it (openapi-core 1.0.8
// Client.doRequest): the header object the client builds (user-agent included, by
// Object.assign, then applyRetryHeaders), the SHA-256 of an empty payload it always computes
// first, node:crypto SHA-256 of the body → hex x-acs-content-sha256, then Utils.getAuthorization. The client already holds the path and
// the query as separate values, so they are given here pre-split (no URL parsing is timed).

import { createRequire } from "node:module";
import { createHash } from "node:crypto";

const require = createRequire(import.meta.url);
const Utils = require("@alicloud/openapi-core/dist/utils").default;
const ALG = "ACS3-HMAC-SHA256";

/** `{ method, pathname, query, host, headers, body }` → the headers the client sends, `Authorization` included. */
export function sdkSign(request, credentials, { action, version = "2023-03-30", date, nonce }) {
  const headers = Object.assign(
    {
      host: request.host,
      "x-acs-version": version,
      "x-acs-action": action,
      "user-agent": Utils.getUserAgent(undefined),
      "x-acs-date": date ?? Utils.getTimestamp(),
      "x-acs-signature-nonce": nonce ?? Utils.getNonce(),
      accept: "application/json",
    },
    request.headers,
  );
  Utils.applyRetryHeaders(headers, 0, 0);
  Utils.hash(Buffer.from("", "utf-8"), ALG); // doRequest's default payload hash, replaced by the body's
  const payloadHash = createHash("sha256").update(request.body).digest().toString("hex"); // Utils.hash(…).toString("hex")
  headers["x-acs-content-sha256"] = payloadHash;
  if (credentials.securityToken) {
    headers["x-acs-accesskey-id"] = credentials.accessKeyId;
    headers["x-acs-security-token"] = credentials.securityToken;
  }
  const req = { method: request.method, pathname: request.pathname, query: request.query, headers };
  headers["Authorization"] = Utils.getAuthorization(req, ALG, payloadHash, credentials.accessKeyId, credentials.accessKeySecret);
  return headers;
}
