/**
 * Runs subscription callbacks and the OnId handler, sync or async, in order per subscription.
 *
 * A callback runs as its frame is read. When it returns a promise, the deliveries that arrive for the same
 * subscription meanwhile wait in its backlog and run, in order, once the promise settled; other topics go
 * on. Each delivery that carried a server ack ID is answered once its callback finished (spec §6.1):
 * `success: true`, or `success: false` with the error's message.
 * @module
 */

import { CallbackError, errorText } from "./errors.js";
import { NO_SUBSCRIBER } from "./protocol/actions.js";
import type { Message } from "./protocol/types.js";
import type { PendingDelivery, Subscription } from "./subscriptions.js";

/** Sends the answer to a `publish_ack`: `(serverAckId, success, errorText)`. */
export type AckSender = (serverAckId: string, success: boolean, error: string) => void;

/** Delivers messages to subscriptions; see the module documentation for the ordering rules. */
export class CallbackDispatcher {
  constructor(
    private readonly sendAck: AckSender,
    private readonly reportError: (error: CallbackError) => void,
  ) {}

  /** Runs the callback for one delivery now, or after the ones still running for its subscription. */
  deliver(subscription: Subscription, message: Message, ackId: string): void {
    if (subscription.backlog !== undefined) {
      subscription.backlog.push([message, ackId]);
      return;
    }
    const pending = this.run(subscription, message, ackId);
    if (pending !== undefined) {
      subscription.backlog = [];
      void this.drain(subscription, pending, ackId);
    }
  }

  /** Answers a `publish_ack` for a topic this client does not follow (spec §6.1). */
  noSubscriber(ackId: string): void {
    if (ackId !== "") {
      this.sendAck(ackId, false, NO_SUBSCRIBER);
    }
  }

  /** Runs one callback; returns its promise when it returned one, after answering the ack otherwise. */
  private run(subscription: Subscription, message: Message, ackId: string): PromiseLike<unknown> | undefined {
    let result: unknown;
    try {
      result = subscription.callback(message, subscription.unsub);
    } catch (error) {
      this.failed(subscription, ackId, error);
      return undefined;
    }
    if (isThenable(result)) {
      return result;
    }
    this.succeeded(ackId);
    return undefined;
  }

  private async drain(subscription: Subscription, first: PromiseLike<unknown>, firstAckId: string): Promise<void> {
    const backlog = subscription.backlog ?? [];
    let pending: PromiseLike<unknown> | undefined = first;
    let ackId = firstAckId;
    try {
      while (pending !== undefined) {
        try {
          await pending;
          this.succeeded(ackId);
        } catch (error) {
          this.failed(subscription, ackId, error);
        }
        pending = undefined;
        let next: PendingDelivery | undefined;
        while (pending === undefined && (next = backlog.shift()) !== undefined) {
          [, ackId] = next;
          if (subscription.active) {
            pending = this.run(subscription, next[0], ackId);
          } else {
            this.noSubscriber(ackId);
          }
        }
      }
    } finally {
      subscription.backlog = undefined;
    }
  }

  private succeeded(ackId: string): void {
    if (ackId !== "") {
      this.sendAck(ackId, true, "");
    }
  }

  private failed(subscription: Subscription, ackId: string, error: unknown): void {
    if (ackId !== "") {
      this.sendAck(ackId, false, errorText(error));
    }
    this.reportError(new CallbackError(subscription.topic, error));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
