/**
 * Handles of publications with acknowledgement, and the table of the ones still pending (spec §6).
 * @module
 */

import type { AckResponse } from "./protocol/types.js";

/** Ms a handle waits beyond its timeout for the server's final `ack_response`, which the server sends
 * when the timeout expires (spec §6.2); after that the handle ends with what it has. */
export const ACK_GRACE_MS = 500;

/** What {@link ClientAck.WaitAny} resolves to: the first response, or `{response: null, success: false}`. */
export interface WaitAnyResult {
  response: AckResponse | null;
  success: boolean;
}

/** What a handle needs from its client. */
export interface AckOwner {
  /** The handle ended: drop it from the pending table (and its request from the offline queue). */
  forget(ackId: string): void;
  /** `get_ack_status` on the server; undefined when not connected or not answered (spec §6.5). */
  queryStatus(ackId: string): Promise<Record<string, boolean> | undefined>;
  /** `cancel_ack` on the server, when connected (spec §6.5). */
  cancelOnServer(ackId: string): void;
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
  private readonly owner: AckOwner;
  private readonly responses = new Map<string, AckResponse>();
  private first: AckResponse | undefined;
  private complete = false;
  private finished = false;
  private wasCancelled = false;
  private sent = false;
  private refusal: Error | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly firstArrived: Promise<void>;
  private resolveFirstArrived!: () => void;

  /** Handles are made by `Client.PublishWithAck` and `Client.PublishToIDWithAck`. */
  constructor(ackId: string, timeoutMs: number, owner: AckOwner) {
    this.id = ackId;
    this.timeout = timeoutMs;
    this.owner = owner;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.firstArrived = new Promise((resolve) => (this.resolveFirstArrived = resolve));
    this.timer = setTimeout(() => this._finish(), timeoutMs + ACK_GRACE_MS);
  }

  // -- what the client feeds in ----------------------------------------------------------------------

  /** @internal The request went out on a connection. */
  _markSent(): void {
    this.sent = true;
  }

  /** @internal True once the request went out. */
  get _sent(): boolean {
    return this.sent;
  }

  /** @internal True once the handle ended. */
  get _finished(): boolean {
    return this.finished;
  }

  /** @internal One `ack_progress` (spec §6.3). */
  _onProgress(response: AckResponse): void {
    if (this.finished) {
      return;
    }
    this.responses.set(response.client_id, response);
    if (this.first === undefined) {
      this.first = response;
      this.resolveFirstArrived();
    }
  }

  /** @internal The final `ack_response` (spec §6.2). */
  _onResponse(responses: Record<string, AckResponse>): void {
    if (this.finished) {
      return;
    }
    for (const [clientId, response] of Object.entries(responses)) {
      this.responses.set(clientId, response);
      this.first ??= response;
    }
    this.complete = true;
    this._finish();
  }

  /** @internal The server refused the request (an `error` frame with its ack ID, spec §11). */
  _fail(error: Error): void {
    if (!this.finished) {
      this.refusal = error;
      this._finish();
    }
  }

  /** @internal Ends the handle: every pending and later wait resolves at once. */
  _finish(): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    clearTimeout(this.timer);
    this.resolveDone();
    this.resolveFirstArrived();
    this.owner.forget(this.id);
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
   * Responder client ID -> answered yet, as the server sees it while the request runs (spec §6.5).
   * Once the request ended (or while disconnected) the answer comes from the responses received.
   */
  async GetStatus(): Promise<Record<string, boolean>> {
    if (!this.finished && this.sent) {
      const status = await this.owner.queryStatus(this.id);
      if (status !== undefined) {
        return status;
      }
    }
    return Object.fromEntries([...this.responses.keys()].map((clientId) => [clientId, true]));
  }

  /** True when every expected responder has answered (the server's final answer has arrived). */
  async IsComplete(): Promise<boolean> {
    if (this.finished) {
      return this.complete;
    }
    const status = await this.GetStatus();
    const values = Object.values(status);
    return this.complete || (values.length > 0 && values.every(Boolean));
  }

  /** Stops waiting: pending and later waits resolve at once with what arrived; the server drops the request. */
  Cancel(): void {
    if (this.finished) {
      return;
    }
    this.wasCancelled = true;
    if (this.sent) {
      this.owner.cancelOnServer(this.id);
    }
    this._finish();
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
  getStatus(): Promise<Record<string, boolean>> {
    return this.GetStatus();
  }

  /** Same as {@link ClientAck.IsComplete}. */
  isComplete(): Promise<boolean> {
    return this.IsComplete();
  }

  /** Same as {@link ClientAck.Cancel}. */
  cancel(): void {
    this.Cancel();
  }
}

/** The pending handles of one client, by ack ID. */
export class AckTable {
  private readonly pending = new Map<string, ClientAck>();
  private counter = 0;

  constructor(private readonly clientId: string) {}

  /** A fresh ack ID, in the original clients' format `client_ack_<id>_<n>`. */
  newId(): string {
    this.counter += 1;
    return `client_ack_${this.clientId}_${this.counter}`;
  }

  add(handle: ClientAck): void {
    this.pending.set(handle.id, handle);
  }

  get(ackId: string): ClientAck | undefined {
    return this.pending.get(ackId);
  }

  forget(ackId: string): void {
    this.pending.delete(ackId);
  }

  /** Ends the handles whose request went out on the lost connection: the server forgot them. */
  connectionLost(): void {
    for (const handle of [...this.pending.values()]) {
      if (handle._sent) {
        handle._finish();
      }
    }
  }

  /** Ends every handle (the client is closing). */
  finishAll(): void {
    for (const handle of [...this.pending.values()]) {
      handle._finish();
    }
  }
}
