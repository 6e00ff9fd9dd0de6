/**
 * The core's requests waiting for a direct reply, by request ID (`rid`, spec §11.1). A server that does not
 * echo `rid` (the original KSPS) is answered by topic (or ack ID), oldest request first.
 * @module
 */

/** Why a request was sent: the reply's meaning depends on it. */
export type RequestKind = "subscribe" | "restore" | "unsubscribe" | "status" | "presence" | "history";

/** One request waiting for its reply. */
export interface PendingRequest {
  readonly kind: RequestKind;
  /** The topic (subscribe, restore, unsubscribe, presence, history) or the client ack ID (status). */
  readonly key: string;
  /** The handle named by the intent, "" when none (a restoring subscribe). */
  readonly handle: string;
  /** A subscribe or restore whose frame carried `since` (spec §14.3): its reply is a recovery's. */
  readonly recovering?: boolean;
}

/** The pending requests of one connection. */
export class RequestTable {
  private readonly byRid = new Map<string, PendingRequest>();

  add(rid: string, request: PendingRequest): void {
    this.byRid.set(rid, request);
  }

  /**
   * Takes the request a reply answers: by `rid`, else (no `rid`: an original server) the oldest request
   * of one of `kinds` about `key`.
   */
  take(rid: string | undefined, kinds: readonly RequestKind[], key: string): PendingRequest | undefined {
    let found: string | undefined = rid;
    if (rid === undefined) {
      for (const [candidate, request] of this.byRid) {
        if (kinds.includes(request.kind) && request.key === key) {
          found = candidate;
          break;
        }
      }
    }
    const request = found === undefined ? undefined : this.byRid.get(found);
    if (found === undefined || request === undefined || !kinds.includes(request.kind)) {
      return undefined;
    }
    this.byRid.delete(found);
    return request;
  }

  /** Every pending request, forgotten (the connection is gone). */
  drain(): PendingRequest[] {
    const requests = [...this.byRid.values()];
    this.byRid.clear();
    return requests;
  }
}
