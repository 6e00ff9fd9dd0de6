/**
 * The public API shared by every entry point (Node ESM/CommonJS and the browser builds).
 * @module
 */

export { ACK_GRACE_MS, ClientAck, type WaitAnyResult } from "./acks.js";
export { Client, DEFAULT_ACK_TIMEOUT_MS, type SubscribeOptions, type SubscribeResult } from "./client.js";
export {
  AuthError,
  CallbackError,
  ClientClosed,
  ConnectionFailed,
  ConnectionReplaced,
  KspsError,
  NotConnected,
  OfflineQueueFull,
  ProtocolError,
  ServerErrorReply,
  type ErrorFrameFields,
} from "./errors.js";
export type { ClientEvent, ClientEventListener, ClientEventMap } from "./events.js";
export type { PresenceInfo } from "./handles.js";
export type { HistoryOptions, HistoryPage, StreamPosition, SubscribedHandler, SubscriptionInfo } from "./history.js";
export { defaultClientId, type ClientOptions, type IdHandler, type MemberHandler, type OverflowPolicy } from "./options.js";
export type { AckResponse, JsonValue, Message } from "./protocol/types.js";
export type { SubscriptionCallback, Unsubscribe } from "./subscriptions.js";
export { tokenClaims, type TokenCallback } from "./tokens.js";
export type { WebSocketConstructor, WebSocketLike } from "./transport.js";

import { Client } from "./client.js";

/** Same as `Client.NewClient`. */
export const NewClient = Client.NewClient;
