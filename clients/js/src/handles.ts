/**
 * The client's side of the core's handles: the promise of each `Subscribe` waiting for `subscribed`, and
 * the {@link ClientAck} of each publication with acknowledgement. Turns handle events into settlements.
 * @module
 */

import type { ClientAck } from "./acks.js";
import type { CoreEvent, Input } from "./core/types.js";
import { NotConnected, ServerErrorReply } from "./errors.js";
import { ServerAction } from "./protocol/actions.js";

/** A `Subscribe` (or `Unsubscribe`) waiting for the server. */
export interface PendingSubscribe {
  resolve(): void;
  reject(refusal: ServerErrorReply): void;
}

type HandleEvent = Extract<CoreEvent, { handle: string }>;

/** Pending handles by name (`s<n>` for subscriptions, `a<n>` for acks). */
export class HandleTable {
  private readonly subscribes = new Map<string, PendingSubscribe>();
  private readonly acks = new Map<string, ClientAck>();
  private counter = 0;

  /** A fresh handle name. */
  newHandle(prefix: "s" | "a"): string {
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
  }

  private refused(event: Extract<CoreEvent, { type: "refused" }>, detail: string): void {
    if (event.error === "NotConnected") {
      this.acks.get(event.handle)?._onStatusRefused(new NotConnected(detail));
      return;
    }
    const text = `the server answered: ${detail}`;
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
