/**
 * The client's topic subscriptions: one callback per topic, and their `unsub` handles.
 * @module
 */

import type { Message } from "./protocol/types.js";

/** Ends one subscription; calling it again, or after the topic was subscribed anew, does nothing. */
export type Unsubscribe = () => void;

/**
 * A subscription callback: `callback(message, unsub)`. It may return a promise: deliveries to the same
 * subscription then wait for it, so they run in order. For a publication with acknowledgement the ack
 * is sent when the callback returned or its promise settled: a throw or a rejection sends an error ack.
 */
export type SubscriptionCallback = (message: Message, unsub: Unsubscribe) => unknown;

/** A delivery waiting behind a running async callback: the message, and the server ack ID or "". */
export type PendingDelivery = readonly [Message, string];

/** One topic's callback. `backlog` is set while deliveries wait behind a running async callback. */
export class Subscription {
  active = true;
  backlog: PendingDelivery[] | undefined;
  readonly unsub: Unsubscribe;

  constructor(
    readonly topic: string,
    readonly callback: SubscriptionCallback,
    unsubscribe: (subscription: Subscription) => void,
  ) {
    this.unsub = () => unsubscribe(this);
  }
}

/**
 * topic -> the current Subscription. Subscribing again replaces the callback, as in the original. Also
 * holds the OnId handler (as a subscription with topic `""`).
 */
export class SubscriptionRegistry {
  private readonly byTopic = new Map<string, Subscription>();
  private direct: Subscription | undefined;

  /** Makes `subscription` the topic's current one; the one it replaces stops receiving. */
  add(subscription: Subscription): void {
    const old = this.byTopic.get(subscription.topic);
    if (old !== undefined) {
      old.active = false;
    }
    this.byTopic.set(subscription.topic, subscription);
  }

  /** The OnId handler, as a subscription: its deliveries are ordered and acknowledged like a topic's. */
  get idHandler(): Subscription | undefined {
    return this.direct;
  }

  /** Sets or (with undefined) removes the OnId handler. */
  setIdHandler(handler: ((message: Message) => unknown) | undefined): void {
    if (this.direct !== undefined) {
      this.direct.active = false;
    }
    this.direct = handler === undefined ? undefined : new Subscription("", (message) => handler(message), () => {});
  }

  /** Removes `subscription` if it is still the topic's current one; true when it was. */
  remove(subscription: Subscription): boolean {
    subscription.active = false;
    if (this.byTopic.get(subscription.topic) === subscription) {
      this.byTopic.delete(subscription.topic);
      return true;
    }
    return false;
  }

  /** Removes the topic's subscription, whichever it is; true when there was one. */
  removeTopic(topic: string): boolean {
    const subscription = this.byTopic.get(topic);
    if (subscription === undefined) {
      return false;
    }
    return this.remove(subscription);
  }

  get(topic: string): Subscription | undefined {
    return this.byTopic.get(topic);
  }

  /** Every subscribed topic, restored after each reconnection. */
  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Forgets every subscription and the OnId handler (the client is closed). */
  clear(): void {
    for (const subscription of this.byTopic.values()) {
      subscription.active = false;
    }
    this.byTopic.clear();
    this.setIdHandler(undefined);
  }
}
