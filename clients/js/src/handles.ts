/**
 * The client's side of the core's handles: the promise of each `Subscribe` waiting for `subscribed`, of
 * each `Presence` and `History` waiting for its answer, and the {@link ClientAck} of each publication with
 * acknowledgement. Turns handle events into settlements.
 * @module
 */

import type { ClientAck } from "./acks.js";
import type { CoreEvent, Input } from "./core/types.js";
import { ClientClosed, NotConnected, ServerErrorReply } from "./errors.js";
import type { HistoryPage } from "./history.js";
import { ServerAction } from "./protocol/actions.js";

/** A `Subscribe` (or `Unsubscribe`) waiting for the server. */
export interface PendingSubscribe {
  resolve(): void;
  reject(refusal: ServerErrorReply): void;
}

type HandleEvent = Extract<CoreEvent, { handle: string }>;

/** What `Presence(topic)` resolves to (spec §15.2). */
export interface PresenceInfo {
  /** Registered clients subscribed to the topic, on every node of a cluster. */
  count: number;
  /** The smallest of their IDs, sorted; at most 1,000. */
  ids: string[];
  /** True when `ids` does not list every member. */
  truncated: boolean;
}

/** A query waiting for the server's answer: `Presence` or `History`. */
interface PendingQuery<T> {
  readonly topic: string;
  resolve(answer: T): void;
  reject(error: Error): void;
}

/** Pending handles by name (`s<n>` subscriptions, `a<n>` acks, `p<n>` presence, `h<n>` history queries). */
export class HandleTable {
  private readonly subscribes = new Map<string, PendingSubscribe>();
  private readonly presences = new Map<string, PendingQuery<PresenceInfo>>();
  private readonly histories = new Map<string, PendingQuery<HistoryPage>>();
  private readonly acks = new Map<string, ClientAck>();
  private counter = 0;

  /** A fresh handle name. */
  newHandle(prefix: "s" | "a" | "p" | "h"): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  addSubscribe(handle: string, pending: PendingSubscribe): void {
    this.subscribes.set(handle, pending);
  }

  /** Resolves a Subscribe now, keeping its handle: a later refusal (of the restore) still reaches it. */
  resolveNow(handle: string): void {
    this.subscribes.get(handle)?.resolve();
  }

  addPresence(handle: string, pending: PendingQuery<PresenceInfo>): void {
    this.presences.set(handle, pending);
  }

  addHistory(handle: string, pending: PendingQuery<HistoryPage>): void {
    this.histories.set(handle, pending);
  }

  addAck(handle: string, ack: ClientAck): void {
    this.acks.set(handle, ack);
  }

  /** Settles what a handle event concerns; `cause` is the input that produced it. */
  handleEvent(event: HandleEvent, cause: Input | undefined, detail: string): void {
    switch (event.type) {
      case "subscribed":
      case "unsubscribed":
        this.takeSubscribe(event.handle)?.resolve();
        return;
      case "refused":
        return this.refused(event, detail);
      case "ack_response": {
        const response = { ack_id: this.acks.get(event.handle)?.id ?? "", client_id: event.client_id, success: event.success };
        this.acks.get(event.handle)?._onResponse(event.error === undefined ? response : { ...response, error: event.error });
        return;
      }
      case "status":
        this.acks.get(event.handle)?._onStatus(event.status);
        return;
      case "presence": {
        const { count, ids, truncated } = event;
        this.presences.get(event.handle)?.resolve({ count, ids, truncated });
        this.presences.delete(event.handle);
        return;
      }
      case "history": {
        const { publications, offset, epoch } = event;
        this.histories.get(event.handle)?.resolve({ publications: publications.map((entry) => ({ ...entry })), offset, epoch });
        this.histories.delete(event.handle);
        return;
      }
      case "ack_done": {
        const ack = this.acks.get(event.handle);
        this.acks.delete(event.handle);
        if (cause?.type === "frame" && (cause.frame as { action?: unknown }).action === ServerAction.AckResponse) {
          ack?._onFinal(); // the server's final answer: every expected responder answered (spec §6.2)
        }
        ack?._onDone();
        return;
      }
    }
  }

  /** The client closed: `closed` is final, every pending handle ends (a pending Subscribe resolves). */
  closeAll(): void {
    for (const pending of this.subscribes.values()) {
      pending.resolve();
    }
    this.subscribes.clear();
    for (const ack of this.acks.values()) {
      ack._onDone();
    }
    this.acks.clear();
    for (const pending of this.presences.values()) {
      pending.reject(new NotConnected("the client was closed before the server answered"));
    }
    this.presences.clear();
    for (const pending of this.histories.values()) {
      pending.reject(new ClientClosed("the client was closed before the server answered"));
    }
    this.histories.clear();
  }

  private refused(event: Extract<CoreEvent, { type: "refused" }>, detail: string): void {
    const presence = this.presences.get(event.handle);
    this.presences.delete(event.handle);
    const history = this.histories.get(event.handle);
    this.histories.delete(event.handle);
    if (event.error === "NotConnected" || event.error === "ClientClosed") {
      const error = event.error === "NotConnected" ? new NotConnected(detail) : new ClientClosed(detail);
      this.acks.get(event.handle)?._onStatusRefused(error);
      presence?.reject(error);
      history?.reject(error);
      if (event.error === "ClientClosed") this.takeSubscribe(event.handle)?.resolve(); // as closeAll does
      return;
    }
    const text = `the server answered: ${detail}`;
    presence?.reject(new ServerErrorReply(text, { code: event.code, topic: presence.topic }));
    history?.reject(new ServerErrorReply(text, { code: event.code, topic: history.topic }));
    this.takeSubscribe(event.handle)?.reject(new ServerErrorReply(text, { code: event.code }));
    const ack = this.acks.get(event.handle);
    ack?._onRefused(new ServerErrorReply(text, { code: event.code, ackId: ack.id }));
  }

  private takeSubscribe(handle: string): PendingSubscribe | undefined {
    const pending = this.subscribes.get(handle);
    this.subscribes.delete(handle);
    return pending;
  }
}
