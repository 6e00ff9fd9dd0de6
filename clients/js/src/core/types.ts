/**
 * The input/output model of the sans-I/O client core ({@link ClientSession}): what a driver feeds in, what
 * it must do with what comes out. The same model as the Python and Go cores; `spec/traces/*.json` record
 * it (see spec/traces/README.md). Times are milliseconds from an arbitrary origin, given with every input.
 * @module
 */

/** A JSON object as it travels on the wire. */
export type Frame = Record<string, unknown>;

/**
 * A place in a history topic's stream (spec §14.2): the offset of a publication (0 before the first) and
 * the epoch it belongs to; offsets compare only within one epoch.
 */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** One kept publication of a `history` answer (spec §14.4). */
export interface HistoryPublication {
  data: unknown;
  from: string;
  offset: number;
}

/** What the driver (or the application, through the driver) tells the core. */
export type Input =
  /** Connect for the first time. */
  | { type: "start" }
  /** The WebSocket of the last `open` output is open; `token` is the credential for its `ping` (spec §10). */
  | { type: "opened"; token?: string }
  /** A frame arrived on the open connection, parsed from JSON but not checked yet. */
  | { type: "frame"; frame: unknown }
  /** The connection ended (`code` null when no close frame came, e.g. a refused upgrade). */
  | { type: "lost"; code: number | null; reason: string | null }
  /** The last deadline the core asked for was reached. */
  | { type: "timer" }
  /** The application closes the client for good. */
  | { type: "close" }
  /**
   * `join_leave`: also the topic's join/leave events (spec §15.3). `since`: recover from that position
   * (spec §14.3); it becomes the topic's remembered position and goes on this frame and on every restore.
   */
  | { type: "subscribe"; topic: string; handle?: string; join_leave?: boolean; since?: StreamPosition }
  /** The members of a topic (spec §15.2); answered by a `presence` event or refused. */
  | { type: "presence"; topic: string; handle: string }
  /**
   * Reads a topic's kept publications (spec §14.4); answered by a `history` event or refused. `limit` 0
   * asks for the position only; `reverse` only when true goes on the frame.
   */
  | { type: "history"; topic: string; handle: string; since?: StreamPosition; limit?: number; reverse?: boolean }
  | { type: "unsubscribe"; topic: string; handle?: string }
  | { type: "publish"; topic: string; data: unknown }
  | { type: "publish_to_id"; to: string; data: unknown }
  | { type: "publish_to_server"; address: string; data: unknown; secure: boolean }
  | { type: "publish_with_ack"; topic: string; data: unknown; timeout: number; handle: string }
  | { type: "publish_to_id_with_ack"; to: string; data: unknown; timeout: number; handle: string }
  /** Ends an ack handle (names the handle given to `publish_with_ack`). */
  | { type: "cancel"; ack: string }
  /** Asks the server for an ack handle's status (spec §6.5). */
  | { type: "fetch_status"; ack: string }
  /** JS extension: the answer of a subscription callback to a delivery that carried `ack_id` (spec §6.1). */
  | { type: "ack"; ack_id: string; success: boolean; error?: string }
  /** JS extension: refresh the connection's token in place (spec §10). */
  | { type: "refresh_token"; token: string };

/** What the application is told. */
export type CoreEvent =
  | { type: "connected" }
  | { type: "disconnected"; code: number | null; reason: string | null }
  | { type: "closed" }
  /** `offset`: the publication's offset on a history topic (spec §14.2), when the frame had one. */
  | { type: "delivery"; topic: string; data: unknown; from: string; ack_id?: string; offset?: number }
  | { type: "direct"; data: unknown; from: string; ack_id?: string }
  | { type: "subscribed"; handle: string }
  | { type: "unsubscribed"; handle: string }
  /** `error` is the error class name (`ServerErrorReply`, `NotConnected`); `code` the error frame's, or "". */
  | { type: "refused"; handle: string; error: string; code: string }
  | { type: "ack_response"; handle: string; client_id: string; success: boolean; error?: string }
  | { type: "ack_done"; handle: string }
  | { type: "status"; handle: string; status: Record<string, boolean> }
  | { type: "presence"; handle: string; count: number; ids: string[]; truncated: boolean }
  /**
   * A history-aware `subscribed` reply (it had `epoch` or `recovered`, spec §14.3) for a subscribed topic,
   * first subscribe or restore, before its `subscribed` handle event. `recovering`: the frame carried
   * `since`; `recovered`: nothing was missed; `offset`/`epoch`: the position the reply gave, when it did.
   */
  | { type: "subscription"; topic: string; recovering: boolean; recovered: boolean; offset?: number; epoch?: string }
  /** The answer to a `history` intent (spec §14.4): the publications, and the stream's top offset and epoch. */
  | { type: "history"; handle: string; publications: HistoryPublication[]; offset: number; epoch: string }
  | { type: "join"; topic: string; id: string }
  | { type: "leave"; topic: string; id: string }
  /**
   * A failure no caller sees as an exception. `error` is the error class name shared by the three clients
   * ({@link ErrorClass}); `code` the error frame's code, or the close code (4001, 4003, 4004, 401).
   */
  | { type: "error"; error: ErrorClass; code?: string | number; topic?: string }
  /** A publication that will not be sent: the offline queue was full. */
  | { type: "queue_overflow"; dropped: Frame }
  | { type: "reconnecting"; delay: number };

/** What the driver must do, in order. */
export type Output =
  | { type: "open"; url: string }
  | { type: "send"; frame: Frame }
  | { type: "close"; code: number; reason: string }
  | { type: "event"; event: CoreEvent };

/** The error classes events name (spec/traces/README.md); human-readable texts are each language's own. */
export type ErrorClass =
  | "ServerErrorReply" | "ConnectionFailed" | "ConnectionReplaced" | "AuthError" | "NotConnected" | "ClientClosed"
  | "ProtocolError";

/** The options the core needs; durations in ms. */
export interface SessionOptions {
  readonly id: string;
  readonly url: string;
  readonly autorestart: boolean;
  readonly reconnect: boolean;
  readonly reconnectInitialDelay: number;
  readonly reconnectFactor: number;
  readonly reconnectMaxDelay: number;
  readonly offlineQueueSize: number;
  readonly offlineQueuePolicy: "drop_oldest" | "drop_newest" | "raise";
  readonly connectTimeout: number;
  /** The credential sent on `ping` (spec §10.3) unless `opened` brings a fresher one; "" for none. */
  readonly token: string;
  /** True when new tokens can be had (GetToken): an auth refusal is then retried (spec §7.2). */
  readonly refreshableToken: boolean;
}

/** What the core draws from its environment, injected so that runs are deterministic. */
export interface SessionEnvironment {
  /** A value in [0, 1) for the reconnect jitter. */
  random(): number;
  /** A fresh request ID (`rid`, spec §11.1). */
  newRid(): string;
  /** A fresh client ack ID (spec §6.1). */
  newAckId(): string;
}
