/**
 * The public facade: `Client.NewClient(...)` and the verbs every ksps client shares. It checks the
 * arguments and wires the parts together: connection, subscriptions, outbox, inbound routing, acks.
 * @module
 */

import { ClientAck } from "./acks.js";
import type { CoreEvent, Input, Output } from "./core/types.js";
import { SessionDriver } from "./driver.js";
import { CallbackDispatcher } from "./dispatch.js";
import {
  AuthError, CallbackError, ClientClosed, ConnectionFailed, ConnectionReplaced, OfflineQueueFull, ProtocolError, ServerErrorReply,
  type KspsError,
} from "./errors.js";
import { ClientEvents, type ClientEvent, type ClientEventListener } from "./events.js";
import { HandleTable, type PresenceInfo } from "./handles.js";
import {
  checkHistoryOptions, checkPosition, type HistoryOptions, type HistoryPage, type StreamPosition,
} from "./history.js";
import {
  defaultClientId, resolveOptions, type ClientOptions, type IdHandler, type MemberHandler, type ResolvedOptions,
} from "./options.js";
import { defaultWebSocketOpener } from "./platform.js";
import { NO_SUBSCRIBER } from "./protocol/actions.js";
import type { Message } from "./protocol/types.js";
import { ClientDefaults } from "./protocol/vocabulary.js";
import { tokenSubject } from "./tokens.js";
import { Subscription, SubscriptionRegistry, type SubscriptionCallback, type Unsubscribe } from "./subscriptions.js";
import { webSocketOpener, type TransportOpener } from "./transport.js";

/**
 * What `Subscribe` returns: the function that ends the subscription (as before), which is also a promise
 * (`await client.Subscribe(...)`) that resolves when the server confirmed the subscription with
 * `subscribed` (at once while offline: it is made on the next connection) and rejects with
 * {@link ServerErrorReply} (`code` `"forbidden"`...) when the server refused it (matched by `rid`, spec §11).
 * A refusal nobody awaits goes to `OnError`.
 */
export type SubscribeResult = Unsubscribe & PromiseLike<Unsubscribe>;

/** Options of `Subscribe`. */
export interface SubscribeOptions {
  /** Also hear the topic's members come and go, through `OnJoin`/`OnLeave` (spec §15.3). Default false. */
  joinLeave?: boolean;
  /**
   * Recover from this position of a history topic (spec §14.3): the publications after it that the server
   * still keeps are delivered first, then the live stream; `OnSubscribed` says whether nothing was missed.
   * The client then remembers the topic's position and recovers from it after each reconnection.
   */
  since?: StreamPosition;
}

/** The default timeout of `PublishWithAck` and `PublishToIDWithAck`, in ms (as in the original client). */
export const DEFAULT_ACK_TIMEOUT_MS: number = ClientDefaults.ackTimeout;

interface FirstAttempt {
  resolve(): void;
  reject(error: Error): void;
  lastError?: KspsError;
}

/**
 * A ksps client. Create it with `await Client.NewClient({Address: "localhost:9313"})`, and end it with
 * `await client.Close()` (in Node the process waits for the connection until then).
 *
 * Calls made while disconnected are kept: subscriptions are restored and publications queued (up to
 * `OfflineQueueSize`) until the next connection. Every verb also has a camelCase spelling. The protocol
 * state lives in a sans-I/O core (core/session.ts); this class checks arguments and runs callbacks.
 */
export class Client {
  private readonly options: ResolvedOptions;
  private readonly driver: SessionDriver;
  private readonly events: ClientEvents;
  private readonly subscriptions = new SubscriptionRegistry();
  private readonly handles = new HandleTable();
  private readonly dispatcher: CallbackDispatcher;
  private readonly hooks: Pick<ClientOptions, "OnJoin" | "OnLeave" | "OnSubscribed">;
  private firstAttempt: FirstAttempt | undefined;
  private ackCounter = 0;

  /**
   * Connects to a ksps server. Resolves once the client is registered. When the first connection fails,
   * rejects with {@link ConnectionFailed} (or {@link AuthError}), unless `Autorestart` is set: then it
   * resolves after the first failed attempt with a client that keeps trying in the background.
   */
  static async NewClient(options: ClientOptions = {}): Promise<Client> {
    if (!options.Id && options.Token === undefined && options.GetToken !== undefined) {
      // Only GetToken and no ID: the ID is the first token's `sub` (spec §10).
      options = { ...options, Id: tokenSubject(await options.GetToken()) || defaultClientId() };
    }
    const opener = options.WebSocket !== undefined ? webSocketOpener(options.WebSocket) : defaultWebSocketOpener();
    const client = new Client(resolveOptions(options), opener, options);
    await new Promise<void>((resolve, reject) => {
      client.firstAttempt = { resolve, reject };
      client.driver.input({ type: "start" });
    });
    return client;
  }

  /** Same as {@link Client.NewClient}. */
  static newClient(options: ClientOptions = {}): Promise<Client> {
    return Client.NewClient(options);
  }

  private constructor(options: ResolvedOptions, opener: TransportOpener, raw: ClientOptions) {
    this.options = options;
    this.events = new ClientEvents(raw);
    this.hooks = { OnJoin: raw.OnJoin, OnLeave: raw.OnLeave, OnSubscribed: raw.OnSubscribed };
    this.driver = new SessionDriver(
      options, opener, (event, cause, detail) => this.onCoreEvent(event, cause, detail),
      () => `client_ack_${options.id}_${++this.ackCounter}`,
    );
    this.dispatcher = new CallbackDispatcher(
      (ackId, success, error) => this.driver.input(error === "" ? { type: "ack", ack_id: ackId, success } : { type: "ack", ack_id: ackId, success, error }),
      (error) => this.reportError(error),
    );
    this.subscriptions.setIdHandler(raw.OnId);
  }

  /** The client's ID. */
  get Id(): string {
    return this.options.id;
  }

  /** Same as {@link Client.Id}. */
  get id(): string {
    return this.options.id;
  }

  /** True while connected and registered. */
  get IsConnected(): boolean {
    return this.driver.core.ready;
  }

  /** Same as {@link Client.IsConnected}. */
  get isConnected(): boolean {
    return this.driver.core.ready;
  }

  /**
   * Subscribes to a topic: `callback({data, from, offset?}, unsub)` runs for each publication. Subscribing
   * again to the same topic replaces the callback. Works while offline too: the subscription is made on the
   * next connection. Returns the function that ends the subscription; awaiting it waits for the server's
   * `subscribed` and throws {@link ServerErrorReply} when the server refused it (see {@link SubscribeResult}).
   * On a topic with history, `since` recovers what was published after that position (spec §14.3).
   */
  Subscribe(topic: string, callback: SubscriptionCallback, options: SubscribeOptions = {}): SubscribeResult {
    this.checkOpen();
    checkName("topic", topic);
    if (typeof callback !== "function") {
      throw new TypeError("the callback must be a function");
    }
    const { joinLeave, since } = checkSubscribeOptions(options);
    const subscription = new Subscription(topic, callback, (ended) => this.endSubscription(ended));
    this.subscriptions.add(subscription);
    const unsub: Unsubscribe = () => subscription.unsub();
    let awaited = false;
    const handle = this.handles.newHandle("s");
    let settled = false;
    const confirmed = new Promise<Unsubscribe>((resolve, reject) => {
      this.handles.addSubscribe(handle, {
        resolve: () => {
          settled = true;
          resolve(unsub);
        },
        reject: (refusal) => {
          const error = new ServerErrorReply(refusal.message, { code: refusal.code, topic });
          this.subscriptions.remove(subscription);
          if (!awaited || settled) {
            this.reportError(error); // nobody waits for it (or it was made offline: refused on restore)
          }
          settled = true;
          reject(error);
        },
      });
    });
    confirmed.catch(() => {}); // a refusal nobody awaits went to OnError
    const offline = !this.driver.core.registered;
    this.driver.input(since === undefined
      ? { type: "subscribe", topic, handle, join_leave: joinLeave }
      : { type: "subscribe", topic, handle, join_leave: joinLeave, since });
    if (offline) {
      // Made on the next connection (as in Python and Go): nothing to wait for now. A refusal then goes to OnError.
      this.handles.resolveNow(handle);
    }
    const result = (() => subscription.unsub()) as SubscribeResult;
    result.then = (onFulfilled, onRejected) => {
      awaited = true;
      return confirmed.then(onFulfilled, onRejected);
    };
    return result;
  }

  /**
   * The members of `topic` on every node: `{count, ids, truncated}` (spec §15.2). Rejects with
   * {@link NotConnected} while disconnected and with {@link ServerErrorReply} (`code` `"forbidden"`) when
   * the client may not subscribe to `topic`.
   */
  Presence(topic: string): Promise<PresenceInfo> {
    this.checkOpen();
    checkName("topic", topic);
    const handle = this.handles.newHandle("p");
    const answer = new Promise<PresenceInfo>((resolve, reject) => this.handles.addPresence(handle, { topic, resolve, reject }));
    this.driver.input({ type: "presence", topic, handle });
    return answer;
  }

  /**
   * Reads the publications a topic with history still keeps (spec §14.4): `{publications, offset, epoch}`,
   * each publication `{data, from, offset}`. Without `since` the oldest kept first (newest first with
   * `reverse`); with `since` those after it (before it with `reverse`: paging backwards); at most `limit`
   * (0: only the position). Rejects with {@link ServerErrorReply} `code` `"no_history"` for a topic
   * without history, `"forbidden"` without the history permission, with {@link NotConnected} while
   * disconnected. Throws a `TypeError` for an argument of the wrong type, before sending anything.
   */
  History(topic: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    this.checkOpen();
    checkName("topic", topic);
    const { since, limit, reverse } = checkHistoryOptions(options);
    const handle = this.handles.newHandle("h");
    const answer = new Promise<HistoryPage>((resolve, reject) => this.handles.addHistory(handle, { topic, resolve, reject }));
    this.driver.input({
      type: "history", topic, handle,
      ...(since === undefined ? {} : { since }), ...(limit === undefined ? {} : { limit }), ...(reverse === true ? { reverse } : {}),
    });
    return answer;
  }

  /**
   * The position the client remembers for a subscribed topic with history (spec §14.2): the epoch of its
   * last `subscribed` and the offset of the latest publication received since; undefined for a topic not
   * subscribed or without history. This is where the next reconnection recovers from.
   */
  Position(topic: string): StreamPosition | undefined {
    checkName("topic", topic);
    return this.driver.core.position(topic);
  }

  /** Ends the topic's subscription; its callback stops at once (spec §4.1). */
  Unsubscribe(topic: string): void {
    this.checkOpen();
    checkName("topic", topic);
    this.subscriptions.removeTopic(topic);
    this.driver.input({ type: "unsubscribe", topic });
  }

  /** Publishes `data` (any JSON value) to every subscriber of `topic` (spec §4.2). */
  Publish(topic: string, data: unknown): void {
    this.checkOpen();
    checkName("topic", topic);
    this.publishing({ type: "publish", topic, data });
  }

  /** Sends `data` to one client, or to the server's OnID handler when `targetId` is the server's ID (spec §5). */
  PublishToID(targetId: string, data: unknown): void {
    this.checkOpen();
    checkName("target ID", targetId);
    this.publishing({ type: "publish_to_id", to: targetId, data });
  }

  /** Asks the server to relay `data` to the server at `addrWithPath` (spec §8.1). */
  PublishToServer(addrWithPath: string, data: unknown, secure = false): void {
    this.checkOpen();
    checkName("server address", addrWithPath);
    this.publishing({ type: "publish_to_server", address: addrWithPath, data, secure });
  }

  /**
   * Publishes with acknowledgement: every subscriber answers once its callback finished. The server
   * waits at most `timeoutMs` (default 30000) for them (spec §6.1-§6.3). Returns the handle at once.
   */
  PublishWithAck(topic: string, data: unknown, timeoutMs: number = DEFAULT_ACK_TIMEOUT_MS): ClientAck {
    this.checkOpen();
    checkName("topic", topic);
    const timeout = checkTimeout(timeoutMs);
    return this.startAck((handle) => ({ type: "publish_with_ack", topic, data, timeout, handle }), timeout);
  }

  /** Sends `data` to one client (its OnId handler) with acknowledgement (spec §6.4). */
  PublishToIDWithAck(targetId: string, data: unknown, timeoutMs: number = DEFAULT_ACK_TIMEOUT_MS): ClientAck {
    this.checkOpen();
    checkName("target ID", targetId);
    const timeout = checkTimeout(timeoutMs);
    return this.startAck((handle) => ({ type: "publish_to_id_with_ack", to: targetId, data, timeout, handle }), timeout);
  }

  /** Sets (or removes, with undefined) the handler of direct messages to this client. */
  OnId(handler: IdHandler | undefined): void {
    this.subscriptions.setIdHandler(handler);
  }

  /** Adds a listener called when the client is closed for good. */
  OnClose(listener: () => void): void {
    this.events.on("close", listener);
  }

  /** Adds an event listener (`connect`, `disconnect`, `error`, `close`); returns the function removing it. */
  on<E extends ClientEvent>(event: E, listener: ClientEventListener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** Removes an event listener. */
  off<E extends ClientEvent>(event: E, listener: ClientEventListener<E>): void {
    this.events.off(event, listener);
  }

  /**
   * Closes the client for good: no reconnection, pending ack waits resolve with what arrived, queued
   * publications are dropped. Resolves once the connection is closed. Calling it again does nothing.
   */
  async Close(): Promise<void> {
    await this.driver.close();
  }

  // -- internals -------------------------------------------------------------------------------------

  /** Feeds a publication; under the `"raise"` policy a publication that did not fit the queue throws. */
  private publishing(input: Input): Output[] {
    const outputs = this.driver.input(input);
    if (this.options.offlineQueuePolicy === "raise" && outputs.some(isOverflow)) {
      throw new OfflineQueueFull(`offline queue full (${this.options.offlineQueueSize} publications); not sent`);
    }
    return outputs;
  }

  private startAck(input: (handle: string) => Input, timeout: number): ClientAck {
    const handle = this.handles.newHandle("a");
    const ack = new ClientAck(handle, `client_ack_${this.options.id}_${this.ackCounter + 1}`, timeout, {
      cancel: (name) => this.driver.input({ type: "cancel", ack: name }),
      fetchStatus: (name) => this.driver.input({ type: "fetch_status", ack: name }),
    });
    this.handles.addAck(handle, ack);
    this.publishing(input(handle));
    return ack;
  }

  private onCoreEvent(event: CoreEvent, cause: Input | undefined, detail: string): void {
    switch (event.type) {
      case "connected":
        this.settleFirstAttempt();
        return this.events.emit("connect");
      case "disconnected":
        return this.events.emit("disconnect", event.code, event.reason);
      case "delivery": {
        const message: Message = { data: event.data, from: event.from };
        if (event.offset !== undefined) message.offset = event.offset;
        return this.deliver(this.subscriptions.get(event.topic), message, event.ack_id);
      }
      case "subscription":
        return this.subscribed(event);
      case "direct":
        return this.deliver(this.subscriptions.idHandler, { data: event.data, from: event.from }, event.ack_id);
      case "error":
        return this.failed(coreError(event, detail));
      case "queue_overflow":
        return this.reportError(new OfflineQueueFull(
          `offline queue full (${this.options.offlineQueueSize} publications); ${this.options.offlineQueuePolicy === "drop_oldest" ? "the oldest queued publication was dropped" : "the new publication was dropped"}`,
        ));
      case "reconnecting":
        return this.settleFirstAttempt(undefined, true);
      case "closed":
        return this.closed();
      case "join":
      case "leave":
        return this.member(event.type === "join" ? this.hooks.OnJoin : this.hooks.OnLeave, event.topic, event.id);
      default:
        return this.handles.handleEvent(event, cause, detail);
    }
  }

  /** OnSubscribed (spec §14.3) for a history-aware `subscribed`; what the hook throws goes to OnError. */
  private subscribed(event: Extract<CoreEvent, { type: "subscription" }>): void {
    const { topic, recovering, recovered, offset, epoch } = event;
    try {
      this.hooks.OnSubscribed?.(topic, offset !== undefined && epoch !== undefined
        ? { position: { offset, epoch }, recovering, recovered }
        : { recovering, recovered });
    } catch (error) {
      this.reportError(new CallbackError(topic, error));
    }
  }

  /** OnJoin/OnLeave (spec §15.3); what the hook throws goes to OnError. */
  private member(hook: MemberHandler | undefined, topic: string, id: string): void {
    try {
      hook?.(topic, id);
    } catch (error) {
      this.reportError(new CallbackError(topic, error));
    }
  }

  private deliver(subscription: Subscription | undefined, message: Message, ackId = ""): void {
    if (subscription === undefined) {
      if (ackId !== "") {
        this.driver.input({ type: "ack", ack_id: ackId, success: false, error: NO_SUBSCRIBER });
      }
      return;
    }
    this.dispatcher.deliver(subscription, message, ackId);
  }

  /** An error no caller sees as an exception, except the first attempt's, which rejects NewClient. */
  private failed(error: KspsError): void {
    if (this.firstAttempt !== undefined && (error instanceof ConnectionFailed || error instanceof AuthError)) {
      this.firstAttempt.lastError = error;
      return;
    }
    this.reportError(error);
  }

  private reportError(error: KspsError): void {
    this.events.emit("error", error);
  }

  /** Resolves NewClient; after a failed first attempt with Autorestart, its error goes to OnError then. */
  private settleFirstAttempt(error?: Error, retrying = false): void {
    const first = this.firstAttempt;
    this.firstAttempt = undefined;
    if (first === undefined) {
      return;
    }
    if (error !== undefined) {
      first.reject(error);
      return;
    }
    if (retrying && first.lastError !== undefined) {
      this.reportError(first.lastError);
    }
    first.resolve();
  }

  private closed(): void {
    this.settleFirstAttempt(this.firstAttempt?.lastError ?? new ClientClosed("the client was closed before it connected"));
    this.handles.closeAll();
    this.subscriptions.clear();
    this.events.emit("close");
  }

  private endSubscription(subscription: Subscription): void {
    if (this.subscriptions.remove(subscription) && !this.driver.core.closed) {
      this.driver.input({ type: "unsubscribe", topic: subscription.topic });
    }
  }

  private checkOpen(): void {
    if (this.driver.core.closed) {
      throw new ClientClosed("the client is closed; create a new one with Client.NewClient");
    }
  }
}

/** The error an `error` event names, with the words the core gave for it. */
function coreError(event: Extract<CoreEvent, { type: "error" }>, detail: string): KspsError {
  switch (event.error) {
    case "ConnectionFailed":
      // With a code, the server refused the registration (e.g. "id_taken"): its error frame is the cause.
      return typeof event.code === "string" && event.code !== ""
        ? new ConnectionFailed(detail, { cause: new ServerErrorReply(detail, { code: event.code }) })
        : new ConnectionFailed(detail);
    case "ConnectionReplaced":
      return new ConnectionReplaced(detail);
    case "AuthError":
      return new AuthError(detail, typeof event.code === "number" ? event.code : 0);
    case "ProtocolError":
      return new ProtocolError(detail);
    default:
      return new ServerErrorReply(`the server answered: ${detail}`, { code: String(event.code ?? ""), topic: event.topic ?? "" });
  }
}

function isOverflow(output: Output): boolean {
  return output.type === "event" && output.event.type === "queue_overflow";
}

function checkName(what: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`the ${what} must be a non-empty string`);
  }
}

/** The options of `Subscribe`, checked: a wrong type is a TypeError before anything is sent. */
function checkSubscribeOptions(options: unknown): { joinLeave: boolean; since: StreamPosition | undefined } {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("the Subscribe options must be an object {joinLeave, since}");
  }
  const { joinLeave, since } = options as Record<string, unknown>;
  if (joinLeave !== undefined && typeof joinLeave !== "boolean") {
    throw new TypeError(`joinLeave must be a boolean, got ${typeof joinLeave}`);
  }
  return { joinLeave: joinLeave === true, since: checkPosition("since", since) };
}

function checkTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`the timeout must be a number of ms >= 0, got ${String(timeoutMs)}`);
  }
  return Math.round(timeoutMs);
}

/** The camelCase spellings of the verbs: the same functions as their PascalCase names. */
export interface Client {
  /** Same as {@link Client.Subscribe}. */
  subscribe: Client["Subscribe"];
  /** Same as {@link Client.Unsubscribe}. */
  unsubscribe: Client["Unsubscribe"];
  /** Same as {@link Client.Presence}. */
  presence: Client["Presence"];
  /** Same as {@link Client.History}. */
  history: Client["History"];
  /** Same as {@link Client.Position}. */
  position: Client["Position"];
  /** Same as {@link Client.Publish}. */
  publish: Client["Publish"];
  /** Same as {@link Client.PublishToID}. */
  publishToId: Client["PublishToID"];
  /** Same as {@link Client.PublishToID}. */
  publishToID: Client["PublishToID"];
  /** Same as {@link Client.PublishToServer}. */
  publishToServer: Client["PublishToServer"];
  /** Same as {@link Client.PublishWithAck}. */
  publishWithAck: Client["PublishWithAck"];
  /** Same as {@link Client.PublishToIDWithAck}. */
  publishToIdWithAck: Client["PublishToIDWithAck"];
  /** Same as {@link Client.PublishToIDWithAck}. */
  publishToIDWithAck: Client["PublishToIDWithAck"];
  /** Same as {@link Client.OnId}. */
  onId: Client["OnId"];
  /** Same as {@link Client.Close}. */
  close: Client["Close"];
}

Object.assign(Client.prototype, {
  subscribe: Client.prototype.Subscribe,
  unsubscribe: Client.prototype.Unsubscribe,
  presence: Client.prototype.Presence,
  history: Client.prototype.History,
  position: Client.prototype.Position,
  publish: Client.prototype.Publish,
  publishToId: Client.prototype.PublishToID,
  publishToID: Client.prototype.PublishToID,
  publishToServer: Client.prototype.PublishToServer,
  publishWithAck: Client.prototype.PublishWithAck,
  publishToIdWithAck: Client.prototype.PublishToIDWithAck,
  publishToIDWithAck: Client.prototype.PublishToIDWithAck,
  onId: Client.prototype.OnId,
  close: Client.prototype.Close,
});
