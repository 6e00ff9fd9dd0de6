/**
 * Presence (spec/protocol.md §15): `Presence(topic)` round trips, matched to their answer by `rid`, and the
 * `join`/`leave` events of topics subscribed with `{ joinLeave: true }`, handed to `OnJoin`/`OnLeave`.
 * @module
 */

import { CallbackError, NotConnected, type KspsError, type ServerErrorReply } from "./errors.js";
import type { FrameEncoder } from "./protocol/codec.js";
import type { ServerFrame } from "./protocol/types.js";

/** What `Presence(topic)` resolves to (spec §15.2). */
export interface PresenceInfo {
  /** Registered clients subscribed to the topic, on every node of a cluster. */
  count: number;
  /** The smallest of their IDs, sorted; at most 1,000. */
  ids: string[];
  /** True when `ids` does not list every member. */
  truncated: boolean;
}

/** Called with the topic and the client ID that joined or left it. */
export type MemberHandler = (topic: string, id: string) => void;

/** Ms a presence query waits for its answer. */
export const PRESENCE_TIMEOUT_MS = 10_000;

interface Sender {
  readonly isConnected: boolean;
  send(text: string): boolean;
}

interface Waiting {
  resolve(info: PresenceInfo): void;
  reject(error: KspsError | Error): void;
}

/** The presence queries of one client, by `rid`, and its OnJoin/OnLeave hooks. */
export class PresenceQueries {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly connection: Sender,
    private readonly encoder: FrameEncoder,
    private readonly newRid: () => string,
    private readonly hooks: { OnJoin?: MemberHandler | undefined; OnLeave?: MemberHandler | undefined },
    private readonly reportError: (error: KspsError) => void,
  ) {}

  /** Asks the server; rejects with NotConnected while offline, ServerErrorReply when refused. */
  ask(topic: string): Promise<PresenceInfo> {
    if (!this.connection.isConnected) {
      return Promise.reject(new NotConnected("Presence needs a connection to the server"));
    }
    const rid = this.newRid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new Error(`the server did not answer Presence within ${PRESENCE_TIMEOUT_MS} ms`));
      }, PRESENCE_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(rid);
      };
      this.waiting.set(rid, {
        resolve: (info) => (done(), resolve(info)),
        reject: (error) => (done(), reject(error)),
      });
      if (!this.connection.send(this.encoder.presence(topic, rid))) {
        this.waiting.get(rid)?.reject(new NotConnected("Presence needs a connection to the server"));
      }
    });
  }

  /** A `presence` reply arrived. */
  answered(frame: ServerFrame): void {
    this.waiting.get(frame.rid ?? "")?.resolve({
      count: frame.count ?? 0,
      ids: frame.ids ?? [],
      truncated: frame.truncated === true,
    });
  }

  /** An `error` frame with `rid`: true when it refused one of our queries. */
  refused(rid: string, error: ServerErrorReply): boolean {
    const waiting = this.waiting.get(rid);
    waiting?.reject(error);
    return waiting !== undefined;
  }

  /** A `join` or `leave` frame: the hook is called; what it throws goes to OnError. */
  member(joined: boolean, frame: ServerFrame): void {
    const hook = joined ? this.hooks.OnJoin : this.hooks.OnLeave;
    if (hook === undefined || frame.topic === undefined || frame.id === undefined) {
      return;
    }
    try {
      hook(frame.topic, frame.id);
    } catch (error) {
      this.reportError(new CallbackError(frame.topic, error));
    }
  }

  /** The connection is gone: no answer will come. */
  connectionLost(): void {
    for (const waiting of [...this.waiting.values()]) {
      waiting.reject(new NotConnected("the connection was lost before the server answered Presence"));
    }
  }
}
