/**
 * Liveness of a ready connection, checked at the application level because a browser cannot send
 * WebSocket PINGs (spec §1.6): after `interval` ms without any incoming frame the driver sends a `ping` with
 * the client's own ID, which the server answers with a `pong` and is otherwise harmless (spec §3.1); if
 * nothing at all arrives within `timeout` ms more, the connection is declared dead (a half-open socket).
 * This is the transport's business, like Python's WebSocket PINGs, so it lives in the driver, not the core.
 * @module
 */

/** Watches one ready connection; `received()` on every incoming message. */
export class Liveness {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastReceivedAt: number;
  private probeSentAt: number | undefined;

  constructor(
    private readonly interval: number,
    private readonly timeout: number,
    private readonly now: () => number,
    private readonly probe: () => void,
    private readonly dead: (silentMs: number) => void,
  ) {
    this.lastReceivedAt = now();
    this.schedule(interval);
  }

  /** Something arrived: the connection is alive. */
  received(): void {
    this.lastReceivedAt = this.now();
  }

  /** Stops watching (the connection ended). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delay: number): void {
    if (this.interval > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), delay);
    }
  }

  private check(): void {
    const time = this.now();
    if (this.probeSentAt !== undefined && this.lastReceivedAt < this.probeSentAt) {
      const waited = time - this.probeSentAt;
      if (waited >= this.timeout) {
        this.stop();
        this.dead(Math.round(time - this.lastReceivedAt));
      } else {
        this.schedule(this.timeout - waited);
      }
      return;
    }
    this.probeSentAt = undefined;
    const silence = time - this.lastReceivedAt;
    if (silence < this.interval) {
      this.schedule(this.interval - silence);
      return;
    }
    this.probeSentAt = time;
    this.probe();
    this.schedule(this.timeout);
  }
}
