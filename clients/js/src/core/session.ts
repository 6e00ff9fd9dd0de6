/**
 * The sans-I/O client core: one client's protocol state, with no WebSocket, no timer and no clock inside.
 * The driver feeds it {@link Input}s with the current time and carries out the {@link Output}s it returns,
 * in order; after each step it arms one timer at {@link ClientSession.deadline} and feeds `timer` then.
 *
 * It owns registration (spec §3.1), restoring subscriptions on every connection (§4.1), the offline queue,
 * the state of publications with acknowledgement (§6), matching replies to requests by `rid` (§11) and the
 * reconnect decisions of §7.2 (never after 4001; after 4003/4004 only with new tokens).
 *
 * A connection goes connecting (`open` sent) → registering (`ping` sent) → restoring (subscriptions sent)
 * → ready (queue flushed, `connected`). After a `close` output the driver drops that connection and feeds
 * nothing more from it.
 * @module
 */

import { AckTable } from "./ack-state.js";
import { ReconnectPolicy } from "./backoff.js";
import { FrameBuilder } from "./frames.js";
import { routeFrame } from "./inbound.js";
import { applyIntent } from "./intents.js";
import { OfflineQueue } from "./offline-queue.js";
import { RequestTable } from "./requests.js";
import type { CoreEvent, Frame, Input, Output, SessionEnvironment, SessionOptions, StreamPosition } from "./types.js";
import { closeDecision } from "./close-codes.js";

type Phase = "idle" | "connecting" | "registering" | "restoring" | "ready" | "waiting" | "closed";

/** The state machine of one client; see the module documentation. */
export class ClientSession {
  /** @internal */ phase: Phase = "idle";
  /** @internal */ readonly frames: FrameBuilder;
  /** @internal */ readonly acks = new AckTable();
  /** @internal */ readonly requests = new RequestTable();
  /** @internal */ readonly topics = new Set<string>();
  /** @internal The topics subscribed with join/leave events (spec §15.3), kept for the restores. */
  readonly joinLeave = new Set<string>();
  /**
   * @internal Where each subscribed history topic's stream is (spec §14.2): set by a `subscribe` with
   * `since` and by each `subscribed` reply with a position, advanced by each delivery's offset; restores
   * recover from it (spec §14.3). Gone with the topic's unsubscribe or refusal.
   */
  readonly positions = new Map<string, StreamPosition>();
  /**
   * @internal Subscribe handles waiting for the next connection's confirmation of their topic: made
   * offline, or sent on a connection lost before the answer. They settle with the restoring subscribe.
   */
  readonly waiting = new Map<string, string[]>();
  /** @internal */ registerRid = "";
  /** @internal */ refreshRid = "";
  /** @internal */ out: Output[] = [];
  /** @internal */ now = 0;
  /**
   * Why the last `error` or `refused` event happened, in words, for the driver's error message (events
   * carry only the error class: texts are each language's own).
   */
  detail = "";
  /** @internal */ readonly queue: OfflineQueue;
  private readonly policy: ReconnectPolicy;
  private connectedOnce = false;
  private restoring = 0;
  private timerAt: number | null = null;

  constructor(
    readonly options: SessionOptions,
    /** @internal */ readonly env: SessionEnvironment,
  ) {
    this.frames = new FrameBuilder(options.id);
    this.queue = new OfflineQueue(options.offlineQueueSize, options.offlineQueuePolicy);
    this.policy = new ReconnectPolicy(
      options.reconnectInitialDelay, options.reconnectFactor, options.reconnectMaxDelay, () => env.random(),
    );
  }

  /** The absolute time of the next `timer` input the driver must feed, or null for none. */
  get deadline(): number | null {
    const expiry = this.acks.nextExpiry();
    if (this.timerAt === null || (expiry !== null && expiry < this.timerAt)) {
      return expiry;
    }
    return this.timerAt;
  }

  /** True once closed for good. */
  get closed(): boolean {
    return this.phase === "closed";
  }

  /** True while registered and restored: publications go out at once. */
  get ready(): boolean {
    return this.phase === "ready";
  }

  /** The remembered position of a subscribed history topic (a copy), or undefined (spec §14.2). */
  position(topic: string): StreamPosition | undefined {
    const position = this.positions.get(topic);
    return position === undefined ? undefined : { offset: position.offset, epoch: position.epoch };
  }

  /** Takes one input at time `now`; returns what the driver must do, in order. */
  handle(input: Input, now: number): Output[] {
    this.now = now;
    this.out = [];
    if (this.phase !== "closed") {
      this.step(input);
    } else {
      this.afterClose(input);
    }
    return this.out;
  }

  /** Closed for good: what still names a handle is answered at once, the rest is ignored. */
  private afterClose(input: Input): void {
    if (input.type === "subscribe" || input.type === "presence" || input.type === "history") {
      if (input.handle) {
        this.detail = "the client is closed";
        this.emit({ type: "refused", handle: input.handle, error: "ClientClosed", code: "" });
      }
    } else if (input.type === "unsubscribe") {
      this.positions.delete(input.topic);
      if (input.handle) this.emit({ type: "unsubscribed", handle: input.handle });
    } else if (input.type === "publish_with_ack" || input.type === "publish_to_id_with_ack") {
      this.emit({ type: "ack_done", handle: input.handle });
    }
  }

  private step(input: Input): void {
    switch (input.type) {
      case "start": return this.phase === "idle" ? this.connect() : undefined;
      case "opened": return this.opened(input.token ?? this.options.token);
      case "frame": return routeFrame(this, input.frame);
      case "lost": return this.connectionEnded(input.code, input.reason);
      case "timer": return this.timer();
      case "close": return this.close();
      default: return applyIntent(this, input);
    }
  }

  // -- outputs ---------------------------------------------------------------------------------------

  /** @internal */
  send(frame: Frame): void {
    this.out.push({ type: "send", frame });
  }

  /** @internal */
  emit(event: CoreEvent): void {
    this.out.push({ type: "event", event });
  }

  /** @internal True while frames can go out on the connection (registered). */
  get registered(): boolean {
    return this.phase === "restoring" || this.phase === "ready";
  }

  // -- the connection --------------------------------------------------------------------------------

  private connect(): void {
    this.phase = "connecting";
    this.timerAt = this.now + this.options.connectTimeout;
    this.out.push({ type: "open", url: this.options.url });
  }

  private opened(token: string): void {
    if (this.phase !== "connecting") {
      return;
    }
    this.phase = "registering";
    this.timerAt = this.now + this.options.connectTimeout;
    this.registerRid = this.env.newRid();
    this.send(this.frames.ping(this.registerRid, token));
  }

  /** @internal The server answered the registration `ping`: restore the subscriptions (spec §4.1). */
  registeredNow(): void {
    this.phase = "restoring";
    for (const topic of this.topics) {
      const rid = this.env.newRid();
      // A topic with a remembered position recovers what it missed while away (spec §14.3).
      const since = this.positions.get(topic);
      this.requests.add(rid, since === undefined ? { kind: "restore", key: topic, handle: "" } : { kind: "restore", key: topic, handle: "", recovering: true });
      this.restoring += 1;
      this.send(this.frames.subscribe(topic, rid, this.joinLeave.has(topic), since));
    }
    if (this.restoring === 0) {
      this.becomeReady();
    }
  }

  /** @internal One restoring subscription was answered (confirmed, or refused and reported). */
  restored(): void {
    this.restoring -= 1;
    if (this.restoring === 0 && this.phase === "restoring") {
      this.becomeReady();
    }
  }

  private becomeReady(): void {
    this.phase = "ready";
    this.timerAt = null;
    this.connectedOnce = true;
    this.policy.reset();
    for (const entry of this.queue.drain()) {
      const pending = entry.handle === undefined ? undefined : this.acks.get(entry.handle);
      if (entry.handle !== undefined && pending === undefined) {
        continue; // its handle ended while it waited
      }
      this.send(entry.frame);
      if (pending !== undefined) {
        pending.sent = true;
      }
    }
    this.emit({ type: "connected" });
  }

  /** @internal The server refused the registration (e.g. `code: "id_taken"`, spec §10.6). */
  registrationRefused(error: string, code: string): void {
    this.out.push({ type: "close", code: 1000, reason: "registration refused" });
    this.connectionEnded(null, `the server refused the registration: ${error}`, true, code);
  }

  private timer(): void {
    for (const pending of this.acks.all()) {
      if (pending.expiresAt <= this.now) {
        this.endAck(pending.handle);
      }
    }
    if (this.timerAt === null || this.timerAt > this.now) {
      return;
    }
    if (this.phase === "waiting") {
      this.connect();
    } else if (this.phase === "connecting" || this.phase === "registering" || this.phase === "restoring") {
      this.out.push({ type: "close", code: 1000, reason: "connect timeout" });
      this.connectionEnded(null, `connection attempt timed out after ${this.options.connectTimeout} ms`, true);
    }
  }

  /** The connection ended (lost, refused, timed out): report, then reconnect or close (spec §7.2). */
  private connectionEnded(code: number | null, reason: string | null, attemptFailed = false, refusalCode = ""): void {
    const phase = this.phase;
    if (phase !== "connecting" && phase !== "registering" && phase !== "restoring" && phase !== "ready") {
      return;
    }
    this.phase = "waiting";
    this.timerAt = null;
    this.restoring = 0;
    if (phase === "ready") {
      this.emit({ type: "disconnected", code, reason });
    }
    this.forgetConnection();
    const decision = closeDecision(attemptFailed ? null : code, reason, {
      wasReady: phase === "ready" && !attemptFailed, firstAttempt: !this.connectedOnce, options: this.options,
    });
    if (decision.error !== undefined) {
      this.detail = decision.detail;
      // A refused registration's error code (e.g. "id_taken", spec §10.6) goes with its ConnectionFailed.
      this.emit(refusalCode === "" ? decision.error : { ...decision.error, code: refusalCode });
    }
    if (decision.action === "close") {
      this.finishClose();
    } else {
      const delay = decision.action === "now" ? 0 : Math.floor(this.policy.nextDelay());
      this.timerAt = this.now + delay;
      this.emit({ type: "reconnecting", delay });
    }
  }

  /** What was sent on the connection and not answered is lost: requests end, sent acks end. */
  private forgetConnection(): void {
    this.refreshRid = "";
    for (const request of this.requests.drain()) {
      if (request.handle === "") {
        continue;
      }
      if (request.kind === "subscribe") {
        this.wait(request.key, request.handle); // restored, and confirmed, on the next connection
      } else if (request.kind === "unsubscribe") {
        this.emit({ type: "unsubscribed", handle: request.handle });
      } else if (request.kind === "status" || request.kind === "presence" || request.kind === "history") {
        this.notConnected(request.handle);
      }
    }
    for (const pending of this.acks.all()) {
      if (pending.sent) {
        this.endAck(pending.handle);
      }
    }
  }

  /** The application closes: no `disconnected` (it knows), and `closed` ends every handle. */
  private close(): void {
    if (this.phase === "connecting" || this.phase === "registering" || this.registered) {
      this.out.push({ type: "close", code: 1000, reason: "" });
    }
    this.finishClose();
  }

  /** Closed for good: `closed` is final, every pending handle is over with it (the driver ends them). */
  private finishClose(): void {
    this.phase = "closed";
    this.timerAt = null;
    this.queue.drain();
    this.requests.drain();
    this.waiting.clear();
    for (const pending of this.acks.all()) {
      this.acks.remove(pending);
    }
    this.emit({ type: "closed" });
  }

  // -- intents ---------------------------------------------------------------------------------------

  /** @internal Takes the handles waiting for the confirmation of `topic`. */
  takeWaiting(topic: string): string[] {
    const handles = this.waiting.get(topic) ?? [];
    this.waiting.delete(topic);
    return handles;
  }

  /** @internal A subscribe handle waits for the next connection's restore. */
  wait(topic: string, handle: string): void {
    if (handle !== "") {
      this.waiting.set(topic, [...(this.waiting.get(topic) ?? []), handle]);
    }
  }

  /** @internal Ends an ack handle: `ack_done`, and its request leaves the offline queue. */
  endAck(handle: string): void {
    const pending = this.acks.get(handle);
    if (pending !== undefined) {
      this.acks.remove(pending);
      this.queue.removeHandle(handle);
      this.emit({ type: "ack_done", handle });
    }
  }

  /** @internal */
  notConnected(handle: string): void {
    this.detail = "not connected: this needs an answer from the server";
    this.emit({ type: "refused", handle, error: "NotConnected", code: "" });
  }

}
