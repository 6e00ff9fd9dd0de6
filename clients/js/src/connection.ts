/**
 * The client's connection over time: the first connection, reconnection with backoff after a loss, and
 * the close. It owns at most one {@link Session} at a time and never sends application frames itself.
 * @module
 */

import { ClientClosed, ConnectionFailed, ConnectionReplaced, type KspsError, type ProtocolError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { CLOSE_REPLACED } from "./protocol/actions.js";
import type { FrameEncoder } from "./protocol/codec.js";
import type { ServerFrame } from "./protocol/types.js";
import { ReconnectPolicy } from "./reconnect-policy.js";
import { Session, type SessionEnd, type SessionListener } from "./session.js";
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
  private readonly policy: ReconnectPolicy;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly openTransport: TransportOpener,
    private readonly encoder: FrameEncoder,
    private readonly listener: ConnectionListener,
  ) {
    this.policy = new ReconnectPolicy(options.reconnectInitialDelay, options.reconnectFactor, options.reconnectMaxDelay);
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
      this.settleFirstAttempt(new ClientClosed("the client was closed before it connected"));
      if (this.session === undefined) {
        this.finishClose();
      } else {
        this.session.close(1000, "client closed");
      }
    }
    return gone;
  }

  private connect(): void {
    this.state = "connecting";
    try {
      this.session = new Session(this.openTransport, this.options.url, this.encoder, this.options, this.sessionListener());
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
      ended: (end) => this.sessionEnded(end),
    };
  }

  private ready(): void {
    this.state = "ready";
    this.policy.reset();
    this.listener.connected();
    this.settleFirstAttempt();
  }

  private sessionEnded(end: SessionEnd): void {
    this.session = undefined;
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
    } else if (!end.wasReady) {
      this.attemptFailed(describeEnd(end));
    } else if (this.options.reconnect) {
      this.scheduleReconnect();
    } else {
      this.closeForGood();
    }
  }

  private attemptFailed(why: string): void {
    const error = new ConnectionFailed(`could not connect to ${this.options.url}: ${why}`);
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

function describeEnd(end: SessionEnd): string {
  if (end.code === null) {
    return end.reason ?? "connection failed";
  }
  return `closed with code ${end.code}${end.reason ? ` (${end.reason})` : ""}`;
}
