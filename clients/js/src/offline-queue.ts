/**
 * The bounded queue of publications made while disconnected.
 * @module
 */

import { OfflineQueueFull } from "./errors.js";
import type { OverflowPolicy } from "./options.js";

/** One encoded frame, with the ID of the ack request it carries, if any. */
export interface QueuedFrame {
  readonly text: string;
  readonly ackId?: string;
}

/**
 * Holds up to `capacity` encoded frames until the next connection is ready. On overflow the
 * {@link OverflowPolicy} decides which frame is lost: {@link OfflineQueue.push} returns it, so the caller
 * reports it, or throws {@link OfflineQueueFull} for `"raise"`.
 */
export class OfflineQueue {
  private frames: QueuedFrame[] = [];

  constructor(
    readonly capacity: number,
    readonly policy: OverflowPolicy,
  ) {}

  get size(): number {
    return this.frames.length;
  }

  /** Queues one frame. Returns the frame dropped to respect the bound, if any. */
  push(frame: QueuedFrame): QueuedFrame | undefined {
    if (this.frames.length < this.capacity) {
      this.frames.push(frame);
      return undefined;
    }
    if (this.policy === "raise") {
      throw new OfflineQueueFull(`offline queue full (${this.capacity} publications); not sent`);
    }
    if (this.policy === "drop_newest" || this.capacity === 0) {
      return frame;
    }
    const dropped = this.frames.shift();
    this.frames.push(frame);
    return dropped;
  }

  /** Removes the queued request of one ack, if it is still queued (it was cancelled or timed out). */
  removeAck(ackId: string): void {
    this.frames = this.frames.filter((frame) => frame.ackId !== ackId);
  }

  /** Removes and returns every queued frame, oldest first. */
  drain(): QueuedFrame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}
