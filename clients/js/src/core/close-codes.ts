/**
 * What a client does when a connection ends (spec §7.2): report it, then reconnect with backoff, at once,
 * or not at all.
 * @module
 */

import { CLOSE_REPLACED, CLOSE_TOKEN_EXPIRED, CLOSE_UNAUTHORIZED } from "../protocol/actions.js";
import type { CoreEvent, SessionOptions } from "./types.js";

type ErrorEvent = Extract<CoreEvent, { type: "error" }>;

/** HTTP status of a refused credential at the upgrade (spec §10.3). */
export const HTTP_UNAUTHORIZED = 401;

/** The decision about one ended connection. */
export interface CloseDecision {
  /** `backoff`: reconnect after the next backoff delay; `now`: at once; `close`: close for good. */
  readonly action: "backoff" | "now" | "close";
  /** The error to report, if any. */
  readonly error?: ErrorEvent;
  /** What went wrong, in words, for the error's message (not part of the event: texts are per language). */
  readonly detail: string;
}

interface EndContext {
  readonly wasReady: boolean;
  /** True until a connection became ready: the first attempt (Autorestart decides). */
  readonly firstAttempt: boolean;
  readonly options: SessionOptions;
}

/** Decides what follows the end of a connection with close `code` (null: no close frame) and `reason`. */
export function closeDecision(code: number | null, reason: string | null, context: EndContext): CloseDecision {
  const { options } = context;
  if (code === CLOSE_REPLACED) {
    // Another connection took this ID: coming back would take it back, forever (spec §3.3).
    const error: ErrorEvent = { type: "error", error: "ConnectionReplaced", code: CLOSE_REPLACED };
    return { action: "close", error, detail: `replaced by a newer connection with the same ID (close code ${CLOSE_REPLACED})` };
  }
  const authCode = authRefusal(code, reason);
  if (authCode !== undefined) {
    const error: ErrorEvent = { type: "error", error: "AuthError", code: authCode };
    const detail = authCode === CLOSE_TOKEN_EXPIRED
      ? `the token expired: ${reason || "token expired"}`
      : `the server refused the credentials: ${reason || "unauthorized"}`;
    // The same token would be refused again: only new tokens (GetToken) make trying again worth it.
    if (!options.refreshableToken || (context.firstAttempt && !options.autorestart)) {
      return { action: "close", error, detail };
    }
    return { action: authCode === CLOSE_TOKEN_EXPIRED ? "now" : "backoff", error, detail };
  }
  if (!context.wasReady) {
    const why = code === null ? reason || "connection failed" : `closed with code ${code}${reason ? ` (${reason})` : ""}`;
    const error: ErrorEvent = { type: "error", error: "ConnectionFailed" };
    const detail = `could not connect to ${options.url}: ${why}`;
    return { action: context.firstAttempt && !options.autorestart ? "close" : "backoff", error, detail };
  }
  return { action: options.reconnect ? "backoff" : "close", detail: "" };
}

/** The close code (4003, 4004) or HTTP status (401) of a refused credential; undefined otherwise. */
function authRefusal(code: number | null, reason: string | null): number | undefined {
  if (code === CLOSE_UNAUTHORIZED || code === CLOSE_TOKEN_EXPIRED || code === HTTP_UNAUTHORIZED) {
    return code;
  }
  // A driver reports an HTTP 401 at the upgrade as code 401; Node's `ws` names it in its error text, a
  // browser tells nothing (then: a failed attempt).
  if (code === null && /\b401\b/.test(reason ?? "")) {
    return HTTP_UNAUTHORIZED;
  }
  return undefined;
}
