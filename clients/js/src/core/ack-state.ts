/**
 * The core's pending publications with acknowledgement (spec §6), by handle name and by client ack ID.
 * @module
 */

/** Ms a handle waits beyond its timeout for the server's final `ack_response`, which the server sends
 * when the timeout expires (spec §6.2); after that the handle ends with what it has. */
export const ACK_GRACE_MS = 500;

/** One pending request. */
export interface PendingAck {
  readonly handle: string;
  readonly ackId: string;
  /** When the handle gives up waiting (its timeout plus {@link ACK_GRACE_MS}). */
  readonly expiresAt: number;
  /** True once the request went out on a connection (then a lost connection ends it: the server forgot it). */
  sent: boolean;
  /** Responders already reported, so the final `ack_response` reports only the others. */
  readonly answered: Set<string>;
}

/** The pending requests of one client. */
export class AckTable {
  private readonly byHandle = new Map<string, PendingAck>();
  private readonly handleOf = new Map<string, string>();

  add(handle: string, ackId: string, expiresAt: number): PendingAck {
    const pending: PendingAck = { handle, ackId, expiresAt, sent: false, answered: new Set() };
    this.byHandle.set(handle, pending);
    this.handleOf.set(ackId, handle);
    return pending;
  }

  get(handle: string): PendingAck | undefined {
    return this.byHandle.get(handle);
  }

  byAckId(ackId: string): PendingAck | undefined {
    const handle = this.handleOf.get(ackId);
    return handle === undefined ? undefined : this.byHandle.get(handle);
  }

  remove(pending: PendingAck): void {
    this.byHandle.delete(pending.handle);
    this.handleOf.delete(pending.ackId);
  }

  /** Every pending request, oldest first. */
  all(): PendingAck[] {
    return [...this.byHandle.values()];
  }

  /** The earliest expiry, or null. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const pending of this.byHandle.values()) {
      if (next === null || pending.expiresAt < next) {
        next = pending.expiresAt;
      }
    }
    return next;
  }
}
