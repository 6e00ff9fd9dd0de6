/**
 * The bounded queue of publications made while disconnected (sans-I/O: frames in, frames out).
 * @module
 */

import type { Frame } from "./types.js";

/** One frame waiting for the next connection, with the ack handle it carries, if any. */
export interface QueuedFrame {
  readonly frame: Frame;
  readonly handle?: string;
}

/**
 * Holds up to `capacity` frames until the next connection is ready. On overflow the policy decides which
 * frame is lost: `"drop_oldest"` the oldest queued one, `"drop_newest"` and `"raise"` the new one (the
 * driver throws `OfflineQueueFull` from the call for `"raise"`). {@link OfflineQueue.push} returns it.
 */
export class OfflineQueue {
  private frames: QueuedFrame[] = [];

  constructor(
    readonly capacity: number,
    readonly policy: "drop_oldest" | "drop_newest" | "raise",
  ) {}

  get size(): number {
    return this.frames.length;
  }

  /** Queues one frame. Returns the frame dropped to respect the bound, if any. */
  push(entry: QueuedFrame): QueuedFrame | undefined {
    if (this.frames.length < this.capacity) {
      this.frames.push(entry);
      return undefined;
    }
    if (this.policy !== "drop_oldest" || this.capacity === 0) {
      return entry;
    }
    const dropped = this.frames.shift();
    this.frames.push(entry);
    return dropped;
  }

  /** Removes the queued request of one ack handle, if it is still queued; true when it was. */
  removeHandle(handle: string): boolean {
    const before = this.frames.length;
    this.frames = this.frames.filter((entry) => entry.handle !== handle);
    return this.frames.length !== before;
  }

  /** Removes and returns every queued frame, oldest first. */
  drain(): QueuedFrame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}
