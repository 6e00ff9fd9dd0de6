/**
 * Handles of publications with acknowledgement (spec §6). The core owns the request's state and reports
 * it as events; a handle keeps the last known state, so what it knows is synchronous (`IsComplete`,
 * `GetStatus`, `Cancel`) and what needs the server is asynchronous and named so (`FetchStatus`).
 * @module
 */

import { NotConnected } from "./errors.js";
import type { AckResponse } from "./protocol/types.js";

export { ACK_GRACE_MS } from "./core/ack-state.js";

/** What {@link ClientAck.WaitAny} resolves to: the first response, or `{response: null, success: false}`. */
export interface WaitAnyResult {
  response: AckResponse | null;
  success: boolean;
}

/** What a handle needs from its client. */
export interface AckOwner {
  /** Ends the request (sends `cancel_ack` when connected, spec §6.5). */
  cancel(handle: string): void;
  /** Asks the server for the status (`get_ack_status`, spec §6.5); the answer comes as `_onStatus`. */
  fetchStatus(handle: string): void;
}

/**
 * The handle of one `PublishWithAck` / `PublishToIDWithAck`.
 *
 * Responses are kept as they arrive (`ack_progress` frames, then the final `ack_response`), so a response
 * that came before `Wait()` is not lost, and several waits see the same results. The handle ends when the
 * server's final answer arrives, on `Cancel()`, when the timeout (plus a short grace) expires, or when the
 * connection that carried it is lost; every pending wait then resolves at once.
 */
export class ClientAck {
  /** The client-chosen ack ID sent to the server. */
  readonly id: string;
  /** Ms the server waits for responders. */
  readonly timeout: number;
  private readonly handle: string;
  private readonly owner: AckOwner;
  private readonly responses = new Map<string, AckResponse>();
  private lastStatus: Record<string, boolean> = {};
  private first: AckResponse | undefined;
  private complete = false;
  private finished = false;
  private wasCancelled = false;
  private refusal: Error | undefined;
  private readonly statusWaiters: [(status: Record<string, boolean>) => void, (error: Error) => void][] = [];
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly firstArrived: Promise<void>;
  private resolveFirstArrived!: () => void;

  /** Handles are made by `Client.PublishWithAck` and `Client.PublishToIDWithAck`. */
  constructor(handle: string, ackId: string, timeoutMs: number, owner: AckOwner) {
    this.handle = handle;
    this.id = ackId;
    this.timeout = timeoutMs;
    this.owner = owner;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.firstArrived = new Promise((resolve) => (this.resolveFirstArrived = resolve));
  }

  // -- what the client feeds in (the core's events) --------------------------------------------------

  /** @internal One responder's answer (`ack_progress`, or a response of the final `ack_response`). */
  _onResponse(response: AckResponse): void {
    this.responses.set(response.client_id, response);
    if (this.first === undefined) {
      this.first = response;
      this.resolveFirstArrived();
    }
  }

  /** @internal The server answered `get_ack_status`. */
  _onStatus(status: Record<string, boolean>): void {
    this.lastStatus = { ...status };
    for (const [resolve] of this.statusWaiters.splice(0)) {
      resolve(this.GetStatus());
    }
  }

  /** @internal A status query could not be asked or answered (not connected). */
  _onStatusRefused(error: Error): void {
    for (const [, reject] of this.statusWaiters.splice(0)) {
      reject(error);
    }
  }

  /** @internal The server refused the request (an `error` frame with its ack ID, spec §11). */
  _onRefused(error: Error): void {
    this.refusal ??= error;
  }

  /** @internal The server's final `ack_response` arrived: every expected responder answered. */
  _onFinal(): void {
    this.complete = true;
  }

  /** @internal The request ended: every pending and later wait resolves at once. */
  _onDone(): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.resolveDone();
    this.resolveFirstArrived();
    for (const [resolve] of this.statusWaiters.splice(0)) {
      resolve(this.GetStatus());
    }
  }

  // -- the public API --------------------------------------------------------------------------------

  /**
   * Waits until the request ends; resolves to every response by responder client ID. An empty object
   * means nobody answered: no subscriber, a timeout, a cancel or a lost connection. Rejects with
   * {@link ServerErrorReply} (its `code`, e.g. `"forbidden"`) when the server refused the request.
   */
  async Wait(): Promise<Record<string, AckResponse>> {
    await this.done;
    if (this.refusal !== undefined) {
      throw this.refusal;
    }
    return Object.fromEntries(this.responses);
  }

  /**
   * Waits for the FIRST response to arrive: `{response, success: true}`, or
   * `{response: null, success: false}` when none will (no subscriber, timeout, cancel, lost connection).
   * Does not consume it: `Wait()` still returns it.
   */
  async WaitAny(): Promise<WaitAnyResult> {
    await this.firstArrived;
    if (this.refusal !== undefined) {
      throw this.refusal;
    }
    return this.first === undefined ? { response: null, success: false } : { response: this.first, success: true };
  }

  /**
   * Responder client ID -> answered (true) or not yet, from the last known state: the responses received,
   * and the last {@link ClientAck.FetchStatus} answer. Synchronous; it does not ask the server.
   */
  GetStatus(): Record<string, boolean> {
    const status = { ...this.lastStatus };
    for (const clientId of this.responses.keys()) {
      status[clientId] = true;
    }
    return status;
  }

  /**
   * True when every expected responder has answered, from the last known state: the server's final
   * answer arrived, or the last fetched status has every responder answered. Synchronous.
   */
  IsComplete(): boolean {
    if (this.complete) {
      return true;
    }
    const values = Object.values(this.GetStatus());
    return !this.finished && Object.keys(this.lastStatus).length > 0 && values.every(Boolean);
  }

  /**
   * Asks the server for the status (spec §6.5) and resolves to it (see {@link ClientAck.GetStatus}). Rejects
   * with {@link NotConnected} while disconnected, and once the request ended (the server forgot it; the
   * last known state is {@link ClientAck.GetStatus}).
   */
  FetchStatus(): Promise<Record<string, boolean>> {
    if (this.finished) {
      // The server forgot the request: there is no status to ask for (GetStatus has the last known one).
      return Promise.reject(new NotConnected("the request ended: the server no longer has its status"));
    }
    return new Promise((resolve, reject) => {
      this.statusWaiters.push([resolve, reject]);
      this.owner.fetchStatus(this.handle);
    });
  }

  /** Stops waiting: pending and later waits resolve at once with what arrived; the server drops the request. */
  Cancel(): void {
    if (this.finished) {
      return;
    }
    this.wasCancelled = true;
    this.owner.cancel(this.handle);
  }

  /** True after `Cancel()`. */
  get cancelled(): boolean {
    return this.wasCancelled;
  }

  /** Same as {@link ClientAck.Wait}. */
  wait(): Promise<Record<string, AckResponse>> {
    return this.Wait();
  }

  /** Same as {@link ClientAck.WaitAny}. */
  waitAny(): Promise<WaitAnyResult> {
    return this.WaitAny();
  }

  /** Same as {@link ClientAck.GetStatus}. */
  getStatus(): Record<string, boolean> {
    return this.GetStatus();
  }

  /** Same as {@link ClientAck.IsComplete}. */
  isComplete(): boolean {
    return this.IsComplete();
  }

  /** Same as {@link ClientAck.FetchStatus}. */
  fetchStatus(): Promise<Record<string, boolean>> {
    return this.FetchStatus();
  }

  /** Same as {@link ClientAck.Cancel}. */
  cancel(): void {
    this.Cancel();
  }
}
