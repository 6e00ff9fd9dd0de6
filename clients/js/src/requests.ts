/**
 * Requests waiting for the server's answer, by request ID (`rid`, spec/protocol.md §11): a `Subscribe`
 * settles on its `subscribed` (resolve) or on an `error` frame carrying its `rid` (reject). A server that
 * does not echo `rid` (the original KSPS) is answered by topic, oldest request first.
 * @module
 */

import type { ServerErrorReply } from "./errors.js";

interface Pending {
  readonly topic: string;
  settle(refusal: ServerErrorReply | undefined): void;
}

/** The pending requests of one client. */
export class PendingRequests {
  private readonly byRid = new Map<string, Pending>();
  private counter = 0;

  /** A fresh request ID, unique on this client. */
  newRid(): string {
    this.counter += 1;
    return String(this.counter);
  }

  /** Waits for the answer to the request sent with `rid` about `topic`. */
  add(rid: string, topic: string, settle: (refusal: ServerErrorReply | undefined) => void): void {
    this.byRid.set(rid, { topic, settle });
  }

  /**
   * The server answered `rid` (with `refusal` for an error frame); true when a request waited for it. A
   * confirmation without `rid` goes to the oldest request about its topic.
   */
  answered(rid: string, refusal: ServerErrorReply | undefined, topic = ""): boolean {
    let key: string | undefined = rid;
    if (rid === "") {
      key = [...this.byRid].find(([, pending]) => pending.topic === topic && topic !== "")?.[0];
    }
    const pending = key === undefined ? undefined : this.byRid.get(key);
    if (key === undefined || pending === undefined) {
      return false;
    }
    this.byRid.delete(key);
    pending.settle(refusal);
    return true;
  }

  /** The connection is gone: the requests are restored on the next one, so they count as done. */
  connectionLost(): void {
    const pending = [...this.byRid.values()];
    this.byRid.clear();
    for (const request of pending) {
      request.settle(undefined);
    }
  }
}
