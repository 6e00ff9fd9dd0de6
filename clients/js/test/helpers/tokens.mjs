// HS256 tokens for the auth tests, signed as an identity provider would (node:crypto's HMAC).
import { createHmac } from "node:crypto";

/** The made-up secret of the test server started with `--jwt-secret` (tests only). */
export const SECRET = "js-test-secret-0123456789abcdef-0123";

const base64url = (value) => Buffer.from(value).toString("base64url");

/** An HS256 JWT for `sub` that expires in `ttlMs` (at most 1 s less: `exp` is an integer), with extra claims. */
export function mint(sub, { ttlMs = 3_600_000, secret = SECRET, ...claims } = {}) {
  const head = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = base64url(JSON.stringify({ sub, exp: Math.floor((Date.now() + ttlMs) / 1000), ...claims }));
  const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}
