/**
 * Where outgoing publications go: straight onto the connection when it can send, else into the bounded
 * offline queue, which is flushed once the next connection has restored its subscriptions.
 * @module
 */

import type { AckTable } from "./acks.js";
import { OfflineQueueFull, type KspsError } from "./errors.js";
import type { OfflineQueue, QueuedFrame } from "./offline-queue.js";

/** What the outbox needs from the connection. */
export interface FrameSender {
  send(text: string): boolean;
}

/** Sends or queues publications; reports overflows and ends the ack handles whose request was dropped. */
export class Outbox {
  constructor(
    private readonly connection: FrameSender,
    private readonly queue: OfflineQueue,
    private readonly acks: AckTable,
    private readonly reportError: (error: KspsError) => void,
  ) {}

  /** Sends one frame now, or queues it. Throws {@link OfflineQueueFull} under the `"raise"` policy. */
  send(frame: QueuedFrame): void {
    if (this.trySend(frame)) {
      return;
    }
    let dropped: QueuedFrame | undefined;
    try {
      dropped = this.queue.push(frame);
    } catch (error) {
      this.reportError(error as OfflineQueueFull);
      throw error;
    }
    if (dropped !== undefined) {
      const which = dropped === frame ? "the new publication was dropped" : "the oldest queued publication was dropped";
      this.reportError(new OfflineQueueFull(`offline queue full (${this.queue.capacity} publications); ${which}`));
      if (dropped.ackId !== undefined) {
        this.acks.get(dropped.ackId)?._finish();
      }
    }
  }

  /** Sends the queued frames, oldest first; what cannot be sent stays queued for the next connection. */
  flush(): void {
    const queued = this.queue.drain();
    for (const [index, frame] of queued.entries()) {
      if (frame.ackId !== undefined && this.acks.get(frame.ackId) === undefined) {
        continue; // Its handle ended while it waited (cancelled or timed out).
      }
      if (!this.trySend(frame)) {
        for (const rest of queued.slice(index)) {
          this.queue.push(rest);
        }
        return;
      }
    }
  }

  /** Drops a queued ack request (its handle ended). */
  forgetAck(ackId: string): void {
    this.queue.removeAck(ackId);
  }

  /** Drops everything queued (the client is closed). */
  clear(): void {
    this.queue.drain();
  }

  private trySend(frame: QueuedFrame): boolean {
    if (!this.connection.send(frame.text)) {
      return false;
    }
    if (frame.ackId !== undefined) {
      this.acks.get(frame.ackId)?._markSent();
    }
    return true;
  }
}
