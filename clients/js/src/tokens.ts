/**
 * Where the client's credential comes from, and when to refresh it (spec/protocol.md §10): a static
 * `Token`, or a `GetToken` callback called on every (re)connection and shortly before the current token's
 * `exp`. The `exp` claim is read from the JWT payload WITHOUT verifying it: the client only needs to know
 * when the server stops accepting the token (close 4004); the server does the verifying.
 * @module
 */

/** Returns a fresh token, or a promise of one. */
export type TokenCallback = () => string | Promise<string>;

/** Ms before `exp` at which a long-lived token is refreshed in place. */
export const REFRESH_LEAD_MS = 30_000;
/** Fraction of a short token's remaining life left when it is refreshed (a 10 s token: at 8 s). */
export const REFRESH_FRACTION = 0.2;

/** The claims of a JWT (its middle part), unverified; `{}` when it is not a JWT. */
export function tokenClaims(token: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return {};
  }
  try {
    const base64 = (parts[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * The `exp` claim of a JWT in ms since the epoch, or undefined. A fractional `exp` is rounded down:
 * servers (PyJWT) compare its integer part.
 */
export function tokenExpiry(token: string): number | undefined {
  const exp = tokenClaims(token)["exp"];
  return typeof exp === "number" && Number.isFinite(exp) ? Math.floor(exp) * 1000 : undefined;
}

/** The `sub` claim of a JWT, the ID the server binds to it; `""` when none. */
export function tokenSubject(token: string): string {
  const sub = tokenClaims(token)["sub"];
  return typeof sub === "string" ? sub : "";
}

/** Ms from `now` until a token expiring at `expiry` should be replaced: shortly before `exp`. */
export function refreshDelay(expiry: number, now: number): number {
  const remaining = expiry - now;
  return Math.max(0, remaining - Math.min(REFRESH_LEAD_MS, remaining * REFRESH_FRACTION));
}

/** The client's current token, and how to get the next one. */
export class TokenSource {
  constructor(
    public current: string,
    private readonly getToken: TokenCallback | undefined,
  ) {}

  /** True when a callback can supply new tokens (auth refusals are then retried). */
  get refreshable(): boolean {
    return this.getToken !== undefined;
  }

  /** The token for the next (re)connection: a fresh one from the callback, else the static one. */
  async fetch(): Promise<string> {
    if (this.getToken === undefined) {
      return this.current;
    }
    const token: unknown = await this.getToken();
    if (typeof token !== "string") {
      throw new TypeError(`GetToken must return a string, got ${typeof token}`);
    }
    this.current = token;
    return token;
  }

  /** `exp` of the current token in ms, or undefined. */
  expiry(): number | undefined {
    return this.current === "" ? undefined : tokenExpiry(this.current);
  }

  /** Ms until the current token should be refreshed in place; undefined when it never needs to be. */
  refreshIn(): number | undefined {
    const expiry = this.expiry();
    if (this.getToken === undefined || expiry === undefined) {
      return undefined;
    }
    return refreshDelay(expiry, Date.now());
  }
}
