/**
 * The shapes of what travels on the wire and what callbacks receive (spec/protocol.md §2).
 * @module
 */

/** A JSON value, as `JSON.parse` returns it. Payloads are JSON values. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a subscription callback and the OnId handler receive: the payload and the sender's ID. */
export interface Message {
  /** The published payload (any JSON value). */
  data: unknown;
  /** The registered ID of the sender, or the server's ID for publications made by the server. */
  from: string;
  /**
   * The publication's offset in its topic's stream, on a topic with history (spec §14.2): from 1, +1 per
   * publication, within one epoch. Absent elsewhere.
   */
  offset?: number;
}

/** One responder's answer to a publication with acknowledgement, in its wire shape (spec §2.3). */
export interface AckResponse {
  /** The server's ack ID of the delivery (not the client's request ID). */
  ack_id: string;
  /** The responder's client ID (`internal_<n>` for a server-side subscriber). */
  client_id: string;
  /** False when the responder's callback failed or it had no subscription for the topic. */
  success: boolean;
  /** Why it failed, when it failed. */
  error?: string;
}

/** One frame received from the server, checked by the codec. Absent members are `undefined` (spec §2.2). */
export interface ServerFrame {
  action: string;
  topic?: string;
  data?: unknown;
  from?: string;
  to?: string;
  id?: string;
  error?: string;
  ack_id?: string;
  status?: Record<string, boolean>;
  responses?: Record<string, AckResponse>;
  /** The request ID of the client frame this one answers (spec §11). */
  rid?: string;
  /** Machine-readable class of an `error` frame (spec §11). */
  code?: string;
  /** `presence` reply (spec §15.2): members, their smallest IDs, whether `ids` was cut. */
  count?: number;
  ids?: string[];
  truncated?: boolean;
  /** History (spec §14): a delivery's or reply's `offset`, a reply's `epoch`, a recovery's `recovered`. */
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  /** A `history` reply's publications (spec §14.4), each checked: `{data, from, offset}`. */
  publications?: { data: unknown; from: string; offset: number }[];
}
