/**
 * One connection's life: open the transport, register (spec §3.1), let the client restore its state, wait
 * until the server has processed that, then watch the connection's liveness until it ends.
 *
 * Liveness is checked at the application level, because a browser cannot send WebSocket PINGs: after
 * `keepaliveInterval` ms without any incoming frame the session sends a `ping` with its own ID, which the
 * server answers with a `pong` and is otherwise harmless (spec §3.1); if nothing at all arrives within
 * `keepaliveTimeout` ms the connection is declared dead and dropped, which detects half-open sockets.
 * @module
 */

import { ServerErrorReply, type ProtocolError } from "./errors.js";
import { ServerAction } from "./protocol/actions.js";
import { decodeServerFrames, type FrameEncoder } from "./protocol/codec.js";
import type { ServerFrame } from "./protocol/types.js";
import type { Transport, TransportOpener } from "./transport.js";

/** The timings of a session, in ms. */
export interface SessionTiming {
  readonly connectTimeout: number;
  readonly keepaliveInterval: number;
  readonly keepaliveTimeout: number;
}

/** How a session ended. */
export interface SessionEnd {
  /** The close code received, or null when no close frame came (1005/1006, a timeout, a dead peer). */
  readonly code: number | null;
  /** The close reason, or what went wrong when no close frame came. */
  readonly reason: string | null;
  /** True when the session had become ready (so the client was connected). */
  readonly wasReady: boolean;
  /** True when the server had registered the session (frames may have been sent on it). */
  readonly wasRegistered: boolean;
  /** The error frame that refused the registration, if one did (e.g. `code: "id_taken"`, spec §11). */
  readonly refusal?: ServerErrorReply;
}

/** What a session reports to its connection. */
export interface SessionListener {
  /** The server answered the registration `ping`; the client sends its restoring frames now, synchronously. */
  registered(confirmedId: string): void;
  /** The server has processed the restoring frames: the connection is ready. */
  ready(): void;
  /** A frame other than `pong` (frames that arrive before registration are not reported). */
  frame(frame: ServerFrame): void;
  /** A message from the server could not be decoded; the connection goes on. */
  protocolError(error: ProtocolError): void;
  /** The server answered an in-place token refresh: with `pong` (undefined), or with an error frame. */
  refreshed(refusal: ServerErrorReply | undefined): void;
  /** The session ended; called exactly once. */
  ended(end: SessionEnd): void;
}

type Phase = "opening" | "registering" | "restoring" | "ready" | "ended";

/**
 * What each `pong` answers. The server processes a connection's frames in order, so pongs come back in
 * the order of the pings: the registration, the barrier after the restoring frames, and liveness probes.
 */
type PongPurpose = "register" | "barrier" | "probe" | "refresh";

const now = (): number => (typeof performance === "object" ? performance.now() : Date.now());

/** One connection attempt and, when it succeeds, the connection. */
export class Session {
  private phase: Phase = "opening";
  private readonly transport: Transport;
  private readonly pongs: PongPurpose[] = [];
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private livenessTimer: ReturnType<typeof setTimeout> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReceivedAt = now();
  private probeSentAt: number | undefined;
  private pendingRefusal: ServerErrorReply | undefined;
  /** The `rid` of the registration and of the token refresh in flight (spec §11). */
  private registerRid = "";
  private refreshRid = "";
  private ridCounter = 0;

  /** Opens the transport at once; throws when the URL is invalid. */
  constructor(
    openTransport: TransportOpener,
    url: string,
    private readonly encoder: FrameEncoder,
    private readonly timing: SessionTiming,
    private readonly listener: SessionListener,
    private readonly token = "",
  ) {
    this.transport = openTransport(url, {
      onOpen: () => this.opened(),
      onMessage: (text) => this.received(text),
      onClose: (code, reason, detail) => this.closed(code, reason, detail),
    });
    this.connectTimer = setTimeout(
      () => this.drop(`connection attempt timed out after ${timing.connectTimeout} ms`),
      timing.connectTimeout,
    );
  }

  /** True once registered: frames sent now follow the restoring frames on the same connection. */
  get canSend(): boolean {
    return this.phase === "restoring" || this.phase === "ready";
  }

  /** Sends one frame; returns false when the session cannot send (not registered yet, or ended). */
  send(text: string): boolean {
    if (!this.canSend) {
      return false;
    }
    try {
      this.transport.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the connection with a closing handshake; `ended` follows (at most 1 s later). */
  close(code: number, reason: string): void {
    if (this.phase === "ended") {
      return;
    }
    this.transport.close(code, reason);
    this.closeTimer = setTimeout(() => this.drop("closing handshake timed out"), 1000);
  }

  /** Drops the connection at once; `ended` is called before this returns. */
  drop(reason: string): void {
    if (this.phase === "ended") {
      return;
    }
    this.end({ code: null, reason, ...this.progress() });
    this.transport.abort();
  }

  /**
   * Refreshes the connection's token in place: a `ping` with the same ID and the new token (spec §10);
   * `refreshed` reports the answer. False when the session cannot send.
   */
  refresh(token: string): boolean {
    if (this.phase !== "ready") {
      return false;
    }
    this.refreshRid = this.nextRid();
    return this.sendPing("refresh", token, this.refreshRid);
  }

  private nextRid(): string {
    this.ridCounter += 1;
    return `p${this.ridCounter}`;
  }

  private hasEnded(): boolean {
    return this.phase === "ended";
  }

  private opened(): void {
    if (this.phase !== "opening") {
      return;
    }
    this.phase = "registering";
    this.registerRid = this.nextRid();
    this.sendPing("register", this.token, this.registerRid);
  }

  private received(text: string): void {
    if (this.phase === "ended") {
      return;
    }
    this.lastReceivedAt = now();
    let frames: ServerFrame[];
    try {
      frames = decodeServerFrames(text);
    } catch (error) {
      this.listener.protocolError(error as ProtocolError);
      return;
    }
    for (const frame of frames) {
      // A frame can end the session (a refused registration); the ones after it are moot.
      if (!this.hasEnded()) {
        this.handle(frame);
      }
    }
  }

  private handle(frame: ServerFrame): void {
    if (frame.action === ServerAction.Pong) {
      this.answered(this.pongs.shift(), frame.id ?? "");
    } else if (this.phase === "registering") {
      // The only frame expected before the pong; an error here means the server refused the ID.
      if (frame.action === ServerAction.Error) {
        this.pendingRefusal = errorReply(frame);
        this.drop(`the server refused the registration: ${frame.error ?? ""}`);
      }
    } else if (frame.action === ServerAction.Error && frame.rid !== undefined && frame.rid === this.refreshRid) {
      // The refresh's pong will not come: forget its place in the pong queue.
      const index = this.pongs.indexOf("refresh");
      if (index >= 0) {
        this.pongs.splice(index, 1);
      }
      this.refreshRid = "";
      this.listener.refreshed(errorReply(frame));
    } else {
      this.listener.frame(frame);
    }
  }

  private answered(purpose: PongPurpose | undefined, confirmedId: string): void {
    if (purpose === "register") {
      this.phase = "restoring";
      this.listener.registered(confirmedId);
      if (this.phase === "restoring") {
        this.sendPing("barrier");
      }
    } else if (purpose === "refresh") {
      this.refreshRid = "";
      this.listener.refreshed(undefined);
    } else if (purpose === "barrier") {
      clearTimeout(this.connectTimer);
      this.phase = "ready";
      this.scheduleLivenessCheck(this.timing.keepaliveInterval);
      this.listener.ready();
    }
  }

  private sendPing(purpose: PongPurpose, token = "", rid = ""): boolean {
    try {
      this.transport.send(this.encoder.ping(token, rid));
      this.pongs.push(purpose);
      return true;
    } catch (error) {
      this.drop(`could not send: ${(error as Error).message}`);
      return false;
    }
  }

  private scheduleLivenessCheck(delay: number): void {
    if (this.timing.keepaliveInterval <= 0 || this.phase !== "ready") {
      return;
    }
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => this.checkLiveness(), delay);
  }

  private checkLiveness(): void {
    const time = now();
    if (this.probeSentAt !== undefined) {
      if (this.lastReceivedAt < this.probeSentAt) {
        const waited = time - this.probeSentAt;
        if (waited >= this.timing.keepaliveTimeout) {
          this.drop(`keepalive timeout: nothing received for ${Math.round(time - this.lastReceivedAt)} ms`);
        } else {
          this.scheduleLivenessCheck(this.timing.keepaliveTimeout - waited);
        }
        return;
      }
      this.probeSentAt = undefined;
    }
    const silence = time - this.lastReceivedAt;
    if (silence < this.timing.keepaliveInterval) {
      this.scheduleLivenessCheck(this.timing.keepaliveInterval - silence);
      return;
    }
    this.probeSentAt = time;
    this.sendPing("probe");
    this.scheduleLivenessCheck(this.timing.keepaliveTimeout);
  }

  private closed(code: number, reason: string, detail: string): void {
    if (this.phase === "ended") {
      return;
    }
    // 1005 and 1006 are not sent on the wire: they mean that no close frame came (RFC 6455 §7.1.5).
    const noFrame = code === 1005 || code === 1006;
    this.end({
      code: noFrame ? null : code,
      reason: noFrame ? detail || null : reason,
      ...this.progress(),
    });
  }

  private progress(): { wasReady: boolean; wasRegistered: boolean; refusal?: ServerErrorReply } {
    const progress = { wasReady: this.phase === "ready", wasRegistered: this.phase === "restoring" || this.phase === "ready" };
    return this.pendingRefusal === undefined ? progress : { ...progress, refusal: this.pendingRefusal };
  }

  private end(end: SessionEnd): void {
    this.phase = "ended";
    clearTimeout(this.connectTimer);
    clearTimeout(this.livenessTimer);
    clearTimeout(this.closeTimer);
    this.listener.ended(end);
  }
}

/** The error an `error` frame carries, with its code, topic, rid and ack ID (spec §11). */
export function errorReply(frame: ServerFrame): ServerErrorReply {
  return new ServerErrorReply(`the server answered: ${frame.error ?? "error"}`, {
    code: frame.code ?? "", topic: frame.topic ?? "", rid: frame.rid ?? "", ackId: frame.ack_id ?? "",
  });
}
