/**
 * The client's connection over time: the first connection, reconnection with backoff after a loss, and
 * the close. It owns at most one {@link Session} at a time and never sends application frames itself.
 * @module
 */

import {
  AuthError,
  ClientClosed,
  ConnectionFailed,
  ConnectionReplaced,
  type KspsError,
  type ProtocolError,
  type ServerErrorReply,
} from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { CLOSE_REPLACED, CLOSE_TOKEN_EXPIRED, CLOSE_UNAUTHORIZED } from "./protocol/actions.js";
import type { FrameEncoder } from "./protocol/codec.js";
import type { ServerFrame } from "./protocol/types.js";
import { ReconnectPolicy } from "./reconnect-policy.js";
import { Session, type SessionEnd, type SessionListener } from "./session.js";
import { TokenSource } from "./tokens.js";
import type { TransportOpener } from "./transport.js";

/** What the connection reports to the client. */
export interface ConnectionListener {
  /** A new connection is registered: send the restoring frames (subscriptions, queued publications) now. */
  registered(confirmedId: string): void;
  /** The restoring frames were processed: the client is connected (first connection and reconnections). */
  connected(): void;
  /** A registered connection ended, ready or not: what was sent on it and not answered is lost. */
  lost(): void;
  /** A ready connection was lost (also when `close()` ends it). */
  disconnected(code: number | null, reason: string | null): void;
  /** A frame from the server. */
  frame(frame: ServerFrame): void;
  /** A failure no caller sees as an exception. */
  error(error: KspsError): void;
  /** The connection is closed for good and will not come back. */
  closed(): void;
}

type State = "connecting" | "ready" | "waiting" | "closing" | "closed";

interface FirstAttempt {
  resolve(): void;
  reject(error: Error): void;
}

/** A connection that comes back by itself after a loss, unless told otherwise (see `ClientOptions`). */
export class Connection {
  private state: State = "connecting";
  private session: Session | undefined;
  private firstAttempt: FirstAttempt | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly tokens: TokenSource;
  private readonly policy: ReconnectPolicy;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly openTransport: TransportOpener,
    private readonly encoder: FrameEncoder,
    private readonly listener: ConnectionListener,
  ) {
    this.policy = new ReconnectPolicy(options.reconnectInitialDelay, options.reconnectFactor, options.reconnectMaxDelay);
    this.tokens = new TokenSource(options.token, options.getToken);
  }

  /** True while a ready connection exists. */
  get isConnected(): boolean {
    return this.state === "ready";
  }

  /** True once closed for good. */
  get isClosed(): boolean {
    return this.state === "closing" || this.state === "closed";
  }

  /**
   * Makes the first connection. Resolves when it is ready. When it fails, rejects with
   * {@link ConnectionFailed}, unless auto-restart is on: then it resolves at once and keeps trying.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstAttempt = { resolve, reject };
      this.connect();
    });
  }

  /** Sends one frame on the current connection; false when there is none able to send. */
  send(text: string): boolean {
    return this.session?.send(text) ?? false;
  }

  /** Closes for good: no reconnection; resolves once the connection is gone. */
  close(): Promise<void> {
    if (this.state === "closed") {
      return Promise.resolve();
    }
    const gone = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    if (this.state !== "closing") {
      this.state = "closing";
      clearTimeout(this.reconnectTimer);
      clearTimeout(this.refreshTimer);
      this.settleFirstAttempt(new ClientClosed("the client was closed before it connected"));
      if (this.session === undefined) {
        this.finishClose();
      } else {
        this.session.close(1000, "client closed");
      }
    }
    return gone;
  }

  /** One attempt: a token (from GetToken when set, spec §10), then a session that registers with it. */
  private connect(): void {
    this.state = "connecting";
    this.tokens.fetch().then(
      (token) => this.openSession(token),
      (error: unknown) => {
        if (this.state === "connecting") {
          this.attemptFailed(`GetToken failed: ${(error as Error)?.message ?? String(error)}`);
        }
      },
    );
  }

  private openSession(token: string): void {
    if (this.state !== "connecting") {
      return; // closed while GetToken ran
    }
    try {
      this.session = new Session(
        this.openTransport, this.options.url, this.encoder, this.options, this.sessionListener(), token,
      );
    } catch (error) {
      this.session = undefined;
      this.attemptFailed(`invalid URL ${this.options.url}: ${(error as Error).message}`);
    }
  }

  private sessionListener(): SessionListener {
    return {
      registered: (confirmedId) => this.listener.registered(confirmedId),
      ready: () => this.ready(),
      frame: (frame) => this.listener.frame(frame),
      protocolError: (error: ProtocolError) => this.listener.error(error),
      refreshed: (refusal) => this.refreshed(refusal),
      ended: (end) => this.sessionEnded(end),
    };
  }

  private ready(): void {
    this.state = "ready";
    this.policy.reset();
    this.scheduleRefresh();
    this.listener.connected();
    this.settleFirstAttempt();
  }

  /** Plans the in-place refresh of the current token, shortly before its `exp` (GetToken only). */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const delay = this.tokens.refreshIn();
    if (delay !== undefined) {
      this.refreshTimer = setTimeout(() => void this.refresh(), delay);
    }
  }

  private async refresh(): Promise<void> {
    const session = this.session;
    const before = this.tokens.expiry();
    let token: string;
    try {
      token = await this.tokens.fetch();
    } catch (error) {
      this.listener.error(new ConnectionFailed(`GetToken failed while refreshing the token: ${(error as Error)?.message}`));
      return; // the server closes with 4004 at `exp`, and the reconnection asks GetToken again
    }
    const after = this.tokens.expiry();
    if (session === undefined || session !== this.session || this.state !== "ready") {
      return;
    }
    if (before !== undefined && (after === undefined || after <= before)) {
      return; // not a newer token: wait for 4004 and reconnect with a new one
    }
    session.refresh(token);
  }

  private refreshed(refusal: ServerErrorReply | undefined): void {
    if (refusal === undefined) {
      this.scheduleRefresh();
    } else {
      this.listener.error(new AuthError(`the server refused the refreshed token: ${refusal.message}`, CLOSE_UNAUTHORIZED));
    }
  }

  private sessionEnded(end: SessionEnd): void {
    this.session = undefined;
    clearTimeout(this.refreshTimer);
    if (end.wasRegistered) {
      this.listener.lost();
    }
    if (end.wasReady) {
      this.listener.disconnected(end.code, end.reason);
    }
    if (this.state === "closing") {
      this.finishClose();
    } else if (end.code === CLOSE_REPLACED) {
      // Another connection took this ID: coming back would take it back, forever (spec §3.3).
      this.listener.error(new ConnectionReplaced(`replaced by a newer connection with the same ID (close code ${CLOSE_REPLACED})`));
      this.closeForGood();
    } else if (authRefusal(end) !== undefined) {
      this.authRefused(authRefusal(end) as AuthError);
    } else if (!end.wasReady) {
      this.attemptFailed(describeEnd(end), end.refusal);
    } else if (this.options.reconnect) {
      this.scheduleReconnect();
    } else {
      this.closeForGood();
    }
  }

  /**
   * The server refused the credentials (spec §7.2, §10). A first attempt without auto-restart rejects
   * `NewClient`; then, with GetToken, a new token is fetched for the next attempt (at once after 4004, with
   * backoff otherwise); without GetToken the same token would be refused again: closed for good.
   */
  private authRefused(error: AuthError): void {
    if (this.firstAttempt !== undefined && (!this.options.autoRestart || !this.tokens.refreshable)) {
      this.state = "closed";
      this.settleFirstAttempt(error);
      return;
    }
    this.listener.error(error);
    this.settleFirstAttempt();
    if (!this.tokens.refreshable) {
      this.closeForGood();
    } else if (error.code === CLOSE_TOKEN_EXPIRED) {
      this.state = "waiting";
      this.reconnectTimer = setTimeout(() => this.connect(), 0);
    } else {
      this.scheduleReconnect();
    }
  }

  private attemptFailed(why: string, cause?: ServerErrorReply): void {
    const message = `could not connect to ${this.options.url}: ${why}`;
    const error = cause === undefined ? new ConnectionFailed(message) : new ConnectionFailed(message, { cause });
    if (this.firstAttempt === undefined) {
      // A reconnection attempt: report it, and try again.
      this.listener.error(error);
      this.scheduleReconnect();
      return;
    }
    if (this.options.autoRestart) {
      this.listener.error(error);
      this.settleFirstAttempt();
      this.scheduleReconnect();
    } else {
      this.state = "closed";
      this.settleFirstAttempt(error);
    }
  }

  private scheduleReconnect(): void {
    this.state = "waiting";
    this.reconnectTimer = setTimeout(() => this.connect(), this.policy.nextDelay());
  }

  private closeForGood(): void {
    this.state = "closing";
    this.finishClose();
  }

  private finishClose(): void {
    this.state = "closed";
    this.listener.closed();
    for (const resolve of this.closedWaiters.splice(0)) {
      resolve();
    }
  }

  private settleFirstAttempt(error?: Error): void {
    const first = this.firstAttempt;
    this.firstAttempt = undefined;
    if (first !== undefined) {
      if (error === undefined) {
        first.resolve();
      } else {
        first.reject(error);
      }
    }
  }
}

/** The AuthError of a session ended by 4003, 4004 or an HTTP 401 at the upgrade; undefined otherwise. */
function authRefusal(end: SessionEnd): AuthError | undefined {
  if (end.code === CLOSE_UNAUTHORIZED) {
    return new AuthError(`the server refused the credentials: ${end.reason || "unauthorized"}`, CLOSE_UNAUTHORIZED);
  }
  if (end.code === CLOSE_TOKEN_EXPIRED) {
    return new AuthError(`the token expired: ${end.reason || "token expired"}`, CLOSE_TOKEN_EXPIRED);
  }
  // Node's `ws` names the HTTP status of a refused upgrade; a browser tells nothing (then: a failed attempt).
  if (end.code === null && /Unexpected server response: 401\b/.test(end.reason ?? "")) {
    return new AuthError(`the server refused the token: HTTP 401 from the upgrade`, 401);
  }
  return undefined;
}

function describeEnd(end: SessionEnd): string {
  if (end.code === null) {
    return end.reason ?? "connection failed";
  }
  return `closed with code ${end.code}${end.reason ? ` (${end.reason})` : ""}`;
}
