/**
 * Action names and fixed texts of the ksps protocol (spec/protocol.md §3-§8).
 * @module
 */

/** Actions a client sends. */
export const ClientAction = {
  Ping: "ping",
  Subscribe: "subscribe",
  Unsubscribe: "unsubscribe",
  Publish: "publish",
  DirectMessage: "direct_message",
  PublishWithAck: "publish_with_ack",
  PublishToIdWithAck: "publish_to_id_with_ack",
  Ack: "ack",
  GetAckStatus: "get_ack_status",
  CancelAck: "cancel_ack",
  PublishToServer: "publish_to_server",
  Presence: "presence",
} as const;

/** Actions a server sends. */
export const ServerAction = {
  Pong: "pong",
  Subscribed: "subscribed",
  Unsubscribed: "unsubscribed",
  Published: "published",
  Publish: "publish",
  PublishAck: "publish_ack",
  DirectMessage: "direct_message",
  AckProgress: "ack_progress",
  AckResponse: "ack_response",
  AckStatus: "ack_status",
  AckCancelled: "ack_cancelled",
  ServerMessageSent: "server_message_sent",
  Error: "error",
  Presence: "presence",
  Join: "join",
  Leave: "leave",
} as const;

/** The error text of an ack from a client that has no subscription for the topic (spec §6.1). */
export const NO_SUBSCRIBER = "no subscriber for topic";

/** Close code: another connection took this client's ID; never reconnect after it (spec §3.3, §7.2). */
export const CLOSE_REPLACED = 4001;

/** Topics of direct messages with acknowledgement start with `__direct_<ID>_` (spec §4.4, §6.4). */
export function directTopicPrefix(clientId: string): string {
  return `__direct_${clientId}_`;
}
/** Close code: the credentials were refused (bad or missing token, ID not allowed; spec §7.2, §10). */
export const CLOSE_UNAUTHORIZED = 4003;
/** Close code: the connection's token expired (spec §7.2, §10). */
export const CLOSE_TOKEN_EXPIRED = 4004;
