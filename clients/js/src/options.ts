/**
 * The options of `Client.NewClient`, their defaults, and their checking. Durations are milliseconds.
 * The names and defaults come from spec/vocabulary.toml (see docs/api-names.md for the other languages).
 * @module
 */

import type { KspsError } from "./errors.js";
import type { SubscribedHandler } from "./history.js";
import type { Message } from "./protocol/types.js";
import { ClientDefaults } from "./protocol/vocabulary.js";
import { tokenSubject, type TokenCallback } from "./tokens.js";
import type { WebSocketConstructor } from "./transport.js";

/**
 * What happens to a publication made while disconnected when the offline queue is full:
 * `"drop_oldest"` drops the oldest queued one, `"drop_newest"` drops the new one, `"raise"` throws
 * {@link OfflineQueueFull} from the call. Every overflow is also reported to `OnError`.
 */
export type OverflowPolicy = "drop_oldest" | "drop_newest" | "raise";

/** A handler of direct messages (spec §5, §6.4). Throwing or rejecting sends an error ack. */
export type IdHandler = (message: Message) => unknown;

/** Called with the topic and the client ID that joined or left it (spec §15.3). */
export type MemberHandler = (topic: string, id: string) => void;

/** Everything `Client.NewClient` can be told. Every member is optional. */
export interface ClientOptions {
  /** `host:port` of the server. Default: `window.location.host` in a browser; required in Node. */
  Address?: string;
  /** Path of the WebSocket endpoint; may carry a query string. Default `"/ws/bus"`. */
  Path?: string;
  /**
   * Use `wss://`. Default: true when the page itself was loaded over https and `Address` was not given,
   * false otherwise.
   */
  Secure?: boolean;
  /**
   * The client's ID. Default: the `sub` claim of `Token` (or of the first token `GetToken` returns), else a
   * fresh `client_<ms>_<random>`.
   */
  Id?: string;
  /**
   * A credential (JWT) sent as `ping.token` on every (re)connection, never in the URL (spec §10).
   * A refused one (close 4003, HTTP 401) or an expired one (4004) is reported as {@link AuthError} and
   * closes the client for good, unless `GetToken` is set.
   */
  Token?: string;
  /**
   * Returns a fresh token (or a promise of one): called on every (re)connection and shortly before the
   * current token's `exp`, to refresh it in place on the live connection. Takes precedence over `Token`.
   */
  GetToken?: TokenCallback;
  /**
   * When the FIRST connection fails: false (default) makes `NewClient` reject with
   * {@link ConnectionFailed}; true makes it resolve at once with a client that keeps trying in the
   * background (publications are queued meanwhile).
   */
  Autorestart?: boolean;
  /** Re-establish a lost connection, with backoff, until `Close()`. Default true. Close code 4001 never does. */
  Reconnect?: boolean;
  /** First reconnect delay bound in ms; each attempt waits a random time in [0, bound]. Default 500. */
  ReconnectInitialDelay?: number;
  /** Same as `ReconnectInitialDelay` (the original client's option name). */
  RestartEvery?: number;
  /** Growth of the bound after each failed attempt. Default 2. */
  ReconnectFactor?: number;
  /** Largest bound in ms. Default 30000. */
  ReconnectMaxDelay?: number;
  /** Publications kept while disconnected and sent after the next connection. Default 1024. */
  OfflineQueueSize?: number;
  /** See {@link OverflowPolicy}. Default `"drop_oldest"`. */
  OfflineQueuePolicy?: OverflowPolicy;
  /** Ms without incoming frames before the client probes the connection with a `ping`; 0 disables. Default 20000. */
  KeepaliveInterval?: number;
  /** Ms to wait for any frame after a probe before the connection is declared dead. Default 20000. */
  KeepaliveTimeout?: number;
  /** Ms allowed for one connection attempt: upgrade, registration, restoring subscriptions. Default 10000. */
  ConnectTimeout?: number;
  /** Direct messages to this client: `PublishToID` and `PublishToIDWithAck` (spec §5, §6.4). */
  OnId?: IdHandler;
  /** `id` subscribed to a topic this client subscribed to with `{ joinLeave: true }` (spec §15.3). */
  OnJoin?: MemberHandler;
  /** `id` left such a topic (unsubscribed, disconnected, renamed). */
  OnLeave?: MemberHandler;
  /**
   * A topic with history was subscribed (spec §14.3), on the first subscribe and on every restore after a
   * reconnection, before its `Subscribe` resolves: the stream's position, whether the subscribe recovered
   * from a position (`recovering`) and whether nothing was missed (`recovered`). What it throws goes to
   * `OnError` as a {@link CallbackError}.
   */
  OnSubscribed?: SubscribedHandler;
  /** A connection is registered and its subscriptions restored (the first and every reconnection). */
  OnConnect?: () => void;
  /** Same as `OnConnect` (the original client's name). */
  OnOpen?: () => void;
  /** A ready connection was lost. `code` is null when no close frame came. */
  OnDisconnect?: (code: number | null, reason: string | null) => void;
  /** A failure no caller saw as an exception: a callback that threw, an offline-queue overflow, an error frame... */
  OnError?: (error: KspsError) => void;
  /** The client is closed for good: `Close()`, close code 4001, or a lost connection with `Reconnect: false`. */
  OnClose?: () => void;
  /** The WebSocket implementation. Default: the global `WebSocket` in browsers, the `ws` package in Node. */
  WebSocket?: WebSocketConstructor;
}

/** The options with every default applied. */
export interface ResolvedOptions {
  readonly url: string;
  readonly id: string;
  readonly token: string;
  readonly getToken: TokenCallback | undefined;
  readonly autoRestart: boolean;
  readonly reconnect: boolean;
  readonly reconnectInitialDelay: number;
  readonly reconnectFactor: number;
  readonly reconnectMaxDelay: number;
  readonly offlineQueueSize: number;
  readonly offlineQueuePolicy: OverflowPolicy;
  readonly keepaliveInterval: number;
  readonly keepaliveTimeout: number;
  readonly connectTimeout: number;
}

/** A fresh client ID in the original JavaScript client's format, `client_<ms>_<9 base-36 characters>`. */
export function defaultClientId(): string {
  return `client_${Date.now()}_${randomBase36(9)}`;
}

/** Applies the defaults; throws a `TypeError` for a missing address and a `RangeError` for bad numbers. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if ("AutoRestart" in options) {
    // One spelling per option in every client (spec/vocabulary.toml); a silently ignored option would hide it.
    throw new TypeError('the option is spelled Autorestart (as in every ksps client), not AutoRestart');
  }
  const pageHost = (globalThis as { location?: { host?: string; protocol?: string } }).location;
  const address = options.Address ?? pageHost?.host ?? "";
  if (address === "") {
    throw new TypeError('the Address option is required, e.g. Address: "localhost:9313"');
  }
  const secure = options.Secure ?? (options.Address === undefined && pageHost?.protocol === "https:");
  const resolved: ResolvedOptions = {
    url: `${secure ? "wss" : "ws"}://${address}${options.Path ?? ClientDefaults.path}`,
    id: options.Id || tokenSubject(options.Token ?? "") || defaultClientId(),
    token: options.Token ?? ClientDefaults.token,
    getToken: options.GetToken,
    autoRestart: options.Autorestart ?? ClientDefaults.autorestart,
    reconnect: options.Reconnect ?? ClientDefaults.reconnect,
    reconnectInitialDelay: options.ReconnectInitialDelay ?? options.RestartEvery ?? ClientDefaults.reconnectInitialDelay,
    reconnectFactor: options.ReconnectFactor ?? ClientDefaults.reconnectFactor,
    reconnectMaxDelay: options.ReconnectMaxDelay ?? ClientDefaults.reconnectMaxDelay,
    offlineQueueSize: options.OfflineQueueSize ?? ClientDefaults.offlineQueueSize,
    offlineQueuePolicy: options.OfflineQueuePolicy ?? ClientDefaults.offlineQueuePolicy,
    keepaliveInterval: options.KeepaliveInterval ?? ClientDefaults.keepaliveInterval,
    keepaliveTimeout: options.KeepaliveTimeout ?? ClientDefaults.keepaliveTimeout,
    connectTimeout: options.ConnectTimeout ?? ClientDefaults.connectTimeout,
  };
  check(resolved);
  checkUrl(resolved.url);
  return resolved;
}

function check(options: ResolvedOptions): void {
  const nonNegative: (keyof ResolvedOptions)[] = [
    "reconnectInitialDelay", "reconnectMaxDelay", "offlineQueueSize", "keepaliveInterval", "keepaliveTimeout",
  ];
  for (const key of nonNegative) {
    const value = options[key];
    if (typeof value !== "number" || !(value >= 0)) {
      throw new RangeError(`option ${key} must be a number >= 0, got ${String(value)}`);
    }
  }
  if (!(options.reconnectFactor >= 1)) {
    throw new RangeError(`option reconnectFactor must be >= 1, got ${options.reconnectFactor}`);
  }
  if (!(options.connectTimeout > 0)) {
    throw new RangeError(`option connectTimeout must be > 0, got ${options.connectTimeout}`);
  }
  if (!["drop_oldest", "drop_newest", "raise"].includes(options.offlineQueuePolicy)) {
    throw new RangeError(`unknown OfflineQueuePolicy ${JSON.stringify(options.offlineQueuePolicy)}`);
  }
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`invalid server URL ${url}: check the Address and Path options`);
  }
  if (parsed.hash !== "") {
    throw new TypeError(`invalid server URL ${url}: a WebSocket URL cannot have a #fragment`);
  }
}

function randomBase36(length: number): string {
  const bytes = new Uint8Array(length);
  const crypto = (globalThis as { crypto?: { getRandomValues(array: Uint8Array): Uint8Array } }).crypto;
  if (crypto !== undefined) {
    crypto.getRandomValues(bytes);
  } else {
    bytes.forEach((_, index) => (bytes[index] = Math.floor(Math.random() * 256)));
  }
  return Array.from(bytes, (byte) => (byte % 36).toString(36)).join("");
}
