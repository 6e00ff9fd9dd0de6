/**
 * The errors the ksps client throws or reports to `OnError`.
 *
 * Every one of them derives from {@link KspsError}:
 *
 * ```text
 * KspsError
 * ├── ProtocolError          a frame from the server that breaks spec/protocol.md
 * ├── ConnectionFailed       the first connection failed (no auto-restart), or a connection attempt failed
 * ├── ClientClosed           a call on a client that was closed
 * │   └── ConnectionReplaced another connection took this client's ID (close code 4001, spec §3.3)
 * ├── AuthError              the server refused the credentials (close 4003/4004, HTTP 401; spec §10)
 * ├── OfflineQueueFull       a publication made while offline did not fit the bounded queue
 * ├── ServerErrorReply       the server answered with an `error` frame (spec §7.1)
 * ├── CallbackError          a subscription callback or the OnId handler threw (the thrown value is `cause`)
 * └── NotConnected           an operation that needs the server (e.g. `FetchStatus`) while disconnected
 * ```
 *
 * Each name has one meaning in every ksps client, spelled per language: docs/api-names.md (generated from
 * spec/vocabulary.toml).
 * @module
 */

/** Root of every error the ksps client throws or reports. */
export class KspsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A frame from the server does not follow spec/protocol.md (for example invalid JSON). */
export class ProtocolError extends KspsError {}

/** The client could not connect. `NewClient` rejects with it when auto-restart is off. */
export class ConnectionFailed extends KspsError {}

/** The client was closed (by `Close()`, or for good after a lost connection); create a new one to go on. */
export class ClientClosed extends KspsError {}

/**
 * Another connection registered this client's ID, and the server closed this one with code 4001
 * (spec §3.3). The client does not reconnect: two clients with one ID would take it from each other forever.
 */
export class ConnectionReplaced extends ClientClosed {}

/** A publication made while disconnected did not fit the offline queue (see `OfflineQueuePolicy`). */
export class OfflineQueueFull extends KspsError {}

/**
 * The server refused the client's credentials (spec §10): close code 4003 (bad or missing token, ID not
 * allowed), 4004 (token expired) or HTTP 401 at the upgrade. With a `GetToken` option the client gets a
 * new token and tries again (at once after 4004, with backoff otherwise); without one it closes for good.
 */
export class AuthError extends KspsError {
  /** The close code (4003, 4004) or the HTTP status (401) that refused the credentials. */
  readonly code: number;

  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** What an `error` frame names besides its text (spec §11): all optional. */
export interface ErrorFrameFields {
  /** Machine-readable class: `"forbidden"`, `"id_taken"`, `"limit"`; `""` for the original errors. */
  code?: string;
  /** The topic of the refused frame. */
  topic?: string;
  /** The request ID of the refused frame. */
  rid?: string;
  /** The client's ack ID of a refused request with acknowledgement. */
  ackId?: string;
}

/**
 * The server answered one of this client's frames with `{"action":"error","error":TEXT,...}` (spec §7.1,
 * §11). A refused `Subscribe` rejects with it, a refused `PublishWithAck` makes `Wait()` reject with it,
 * and a refused `Publish` reaches `OnError` with it (its `topic` tells which).
 */
export class ServerErrorReply extends KspsError {
  /** Machine-readable class of the error (`"forbidden"`, `"id_taken"`, `"limit"`), `""` when none. */
  readonly code: string;
  /** The topic of the refused frame, `""` when none. */
  readonly topic: string;
  /** The request ID of the refused frame, `""` when none. */
  readonly rid: string;
  /** The client's ack ID of the refused request with acknowledgement, `""` when none. */
  readonly ackId: string;

  constructor(message: string, fields: ErrorFrameFields = {}) {
    super(message);
    this.code = fields.code ?? "";
    this.topic = fields.topic ?? "";
    this.rid = fields.rid ?? "";
    this.ackId = fields.ackId ?? "";
  }
}

/** A subscription callback or the OnId handler threw or rejected; `cause` is what it threw. */
export class CallbackError extends KspsError {
  /** The topic of the delivery, or `""` for a direct message to the OnId handler. */
  readonly topic: string;

  constructor(topic: string, cause: unknown) {
    const where = topic === "" ? "the OnId handler" : `the callback of topic ${JSON.stringify(topic)}`;
    super(`${where} failed: ${errorText(cause)}`, { cause });
    this.topic = topic;
  }
}

/** An operation that needs the server (for example an ack handle's `FetchStatus`) was made while disconnected. */
export class NotConnected extends KspsError {}

/** The text an error acknowledgement carries for a callback that threw: the error's message (spec §6.1). */
export function errorText(thrown: unknown): string {
  if (thrown instanceof Error) {
    return thrown.message || thrown.name;
  }
  return String(thrown);
}
