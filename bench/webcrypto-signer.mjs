// A plain-JS ACS3-HMAC-SHA256 signer on WebCrypto (`crypto.subtle`), written the way
// aws4fetch-style code signs requests: SHA-256 digests and an HMAC key imported per signature,
// hex by a lookup table, URL parsing with `URL`. It is a benchmark baseline, not part of the
// package; bench/run.mjs checks that it gives the same Authorization as Alibaba Cloud's own
// signer (@alicloud/openapi-core Utils.getAuthorization) before timing it.

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const EMPTY = new Uint8Array(0);

function hex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

async function sha256Hex(data) {
  return hex(await crypto.subtle.digest("SHA-256", data));
}

async function hmacHex(secret, message) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

// RFC 3986: encodeURIComponent leaves ! ' ( ) * as they are.
function encodeRfc3986(value) {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function acsDate(date) {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Signs `{ method, url, headers, body }` with `{ accessKeyId, accessKeySecret, securityToken? }`
 * for `{ action, version?, date?, nonce? }`; returns `{ method, url, headers }` with lower-case
 * header names, `authorization` included and `host` left to fetch.
 */
export async function signAcs3(request, credentials, { action, version = "2023-03-30", date = Date.now(), nonce = crypto.randomUUID() }) {
  const method = (request.method ?? "GET").toUpperCase();
  const url = new URL(request.url);
  const body = request.body ?? EMPTY;
  const payloadHash = await sha256Hex(typeof body === "string" ? encoder.encode(body) : body);

  const headers = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = String(value).trim();
  headers["host"] = url.host;
  headers["x-acs-action"] = action;
  headers["x-acs-version"] = version;
  headers["x-acs-date"] = acsDate(date);
  headers["x-acs-signature-nonce"] = nonce;
  headers["x-acs-content-sha256"] = payloadHash;
  if (credentials.securityToken) {
    headers["x-acs-security-token"] = credentials.securityToken;
    headers["x-acs-accesskey-id"] = credentials.accessKeyId;
  }

  const signed = Object.keys(headers)
    .filter((name) => name === "host" || name === "content-type" || name.startsWith("x-acs-"))
    .sort();
  const canonicalHeaders = signed.map((name) => `${name}:${headers[name]}\n`).join("");
  const canonicalUri = (url.pathname || "/").replace(/\+/g, "%20").replace(/\*/g, "%2A").replace(/%7E/g, "~");
  const canonicalQuery = [...url.searchParams]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${encodeRfc3986(value)}`)
    .join("&");
  const canonicalRequest = [method, canonicalUri, canonicalQuery, canonicalHeaders, signed.join(";"), payloadHash].join("\n");
  const stringToSign = "ACS3-HMAC-SHA256\n" + (await sha256Hex(encoder.encode(canonicalRequest)));
  const signature = await hmacHex(credentials.accessKeySecret, stringToSign);

  delete headers["host"];
  headers["authorization"] = `ACS3-HMAC-SHA256 Credential=${credentials.accessKeyId},SignedHeaders=${signed.join(";")},Signature=${signature}`;
  return { method, url: url.href, headers };
}
