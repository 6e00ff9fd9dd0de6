/**
 * The public facade: `Client.NewClient(...)` and the verbs every ksps client shares. It checks the
 * arguments and wires the parts together: connection, subscriptions, outbox, inbound routing, acks.
 * @module
 */

import { AckTable, ClientAck, type AckOwner } from "./acks.js";
import { Connection, type ConnectionListener } from "./connection.js";
import { CallbackDispatcher } from "./dispatch.js";
import { ClientClosed, type ServerErrorReply } from "./errors.js";
import type { KspsError } from "./errors.js";
import { ClientEvents, type ClientEvent, type ClientEventListener } from "./events.js";
import { routeFrame, type InboundTargets } from "./inbound.js";
import { OfflineQueue } from "./offline-queue.js";
import { defaultClientId, resolveOptions, type ClientOptions, type IdHandler, type ResolvedOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { defaultWebSocketOpener } from "./platform.js";
import { FrameEncoder } from "./protocol/codec.js";
import { ClientDefaults } from "./protocol/vocabulary.js";
import { PendingRequests } from "./requests.js";
import { tokenSubject } from "./tokens.js";
import { StatusQueries } from "./status-queries.js";
import { Subscription, SubscriptionRegistry, type SubscriptionCallback, type Unsubscribe } from "./subscriptions.js";
import { webSocketOpener, type TransportOpener } from "./transport.js";

/**
 * What `Subscribe` returns: the function that ends the subscription (as before), which is also a promise
 * (`await client.Subscribe(...)`) that resolves when the server confirmed the subscription (at once while
 * offline: it is made on the next connection) and rejects with {@link ServerErrorReply} (`code`
 * `"forbidden"`...) when the server refused it. A refusal nobody awaits goes to `OnError`.
 */
export type SubscribeResult = Unsubscribe & PromiseLike<Unsubscribe>;

/** The default timeout of `PublishWithAck` and `PublishToIDWithAck`, in ms (as in the original client). */
export const DEFAULT_ACK_TIMEOUT_MS: number = ClientDefaults.ackTimeout;

/**
 * A ksps client. Create it with `await Client.NewClient({Address: "localhost:9313"})`.
 *
 * Calls made while disconnected are kept: subscriptions are restored and publications queued (up to
 * `OfflineQueueSize`) until the next connection. Every verb also has a camelCase spelling.
 */
export class Client {
  private readonly options: ResolvedOptions;
  private readonly encoder: FrameEncoder;
  private readonly connection: Connection;
  private readonly events: ClientEvents;
  private readonly subscriptions = new SubscriptionRegistry();
  private readonly acks: AckTable;
  private readonly outbox: Outbox;
  private readonly statusQueries: StatusQueries;
  private readonly requests = new PendingRequests();
  private readonly inbound: InboundTargets;
  private readonly reportError: (error: KspsError) => void;

  /**
   * Connects to a ksps server. Resolves once the client is registered. When the first connection fails,
   * rejects with {@link ConnectionFailed}, unless `Autorestart` is set: then it resolves at once with a
   * client that keeps trying in the background.
   */
  static async NewClient(options: ClientOptions = {}): Promise<Client> {
    if (!options.Id && options.Token === undefined && options.GetToken !== undefined) {
      // Only GetToken and no ID: the ID is the first token's `sub` (spec §10).
      options = { ...options, Id: tokenSubject(await options.GetToken()) || defaultClientId() };
    }
    const opener = options.WebSocket !== undefined ? webSocketOpener(options.WebSocket) : defaultWebSocketOpener();
    const client = new Client(resolveOptions(options), opener, options);
    await client.connection.start();
    return client;
  }

  /** Same as {@link Client.NewClient}. */
  static newClient(options: ClientOptions = {}): Promise<Client> {
    return Client.NewClient(options);
  }

  private constructor(options: ResolvedOptions, opener: TransportOpener, raw: ClientOptions) {
    this.options = options;
    this.encoder = new FrameEncoder(options.id);
    this.events = new ClientEvents(raw);
    const reportError = this.events.emit.bind(this.events, "error");
    this.reportError = reportError;
    this.acks = new AckTable(options.id);
    this.connection = new Connection(options, opener, this.encoder, this.connectionListener());
    const queue = new OfflineQueue(options.offlineQueueSize, options.offlineQueuePolicy);
    this.outbox = new Outbox(this.connection, queue, this.acks, reportError);
    this.statusQueries = new StatusQueries(this.connection, this.encoder);
    const dispatcher = new CallbackDispatcher(
      (ackId, success, error) => this.connection.send(this.encoder.ack(ackId, success, error)),
      reportError,
    );
    this.inbound = {
      clientId: options.id,
      subscriptions: this.subscriptions,
      dispatcher,
      acks: this.acks,
      statusQueries: this.statusQueries,
      requests: this.requests,
      reportError,
    };
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
    return this.connection.isConnected;
  }

  /** Same as {@link Client.IsConnected}. */
  get isConnected(): boolean {
    return this.connection.isConnected;
  }

  /**
   * Subscribes to a topic: `callback({data, from}, unsub)` runs for each publication. Subscribing again
   * to the same topic replaces the callback. Works while offline too: the subscription is made on the
   * next connection. Returns the function that ends the subscription; awaiting it waits for the server's
   * confirmation and throws {@link ServerErrorReply} when the server refused it (see {@link SubscribeResult}).
   */
  Subscribe(topic: string, callback: SubscriptionCallback): SubscribeResult {
    this.checkOpen();
    checkName("topic", topic);
    if (typeof callback !== "function") {
      throw new TypeError("the callback must be a function");
    }
    const subscription = new Subscription(topic, callback, (ended) => this.endSubscription(ended));
    this.subscriptions.add(subscription);
    const unsub: Unsubscribe = () => subscription.unsub();
    let awaited = false;
    const confirmed = new Promise<Unsubscribe>((resolve, reject) => {
      const rid = this.requests.newRid();
      this.requests.add(rid, topic, (refusal) => {
        if (refusal === undefined) {
          resolve(unsub);
          return;
        }
        this.subscriptions.remove(subscription);
        if (!awaited) {
          this.reportError(refusal);
        }
        reject(refusal);
      });
      if (!this.connection.send(this.encoder.subscribe(topic, rid))) {
        this.requests.answered(rid, undefined); // offline: made on the next connection
      }
    });
    confirmed.catch(() => {}); // a refusal nobody awaits went to OnError
    const result = (() => subscription.unsub()) as SubscribeResult;
    result.then = (onFulfilled, onRejected) => {
      awaited = true;
      return confirmed.then(onFulfilled, onRejected);
    };
    return result;
  }

  /** Ends the topic's subscription; its callback stops at once (spec §4.1). */
  Unsubscribe(topic: string): void {
    this.checkOpen();
    checkName("topic", topic);
    this.subscriptions.removeTopic(topic);
    this.tellUnsubscribed(topic);
  }

  /** Publishes `data` (any JSON value) to every subscriber of `topic` (spec §4.2). */
  Publish(topic: string, data: unknown): void {
    this.checkOpen();
    checkName("topic", topic);
    this.outbox.send({ text: this.encoder.publish(topic, data) });
  }

  /** Sends `data` to one client, or to the server's OnID handler when `targetId` is the server's ID (spec §5). */
  PublishToID(targetId: string, data: unknown): void {
    this.checkOpen();
    checkName("target ID", targetId);
    this.outbox.send({ text: this.encoder.direct(targetId, data) });
  }

  /** Asks the server to relay `data` to the server at `addrWithPath` (spec §8.1). */
  PublishToServer(addrWithPath: string, data: unknown, secure = false): void {
    this.checkOpen();
    checkName("server address", addrWithPath);
    this.outbox.send({ text: this.encoder.publishToServer(addrWithPath, data, secure) });
  }

  /**
   * Publishes with acknowledgement: every subscriber answers once its callback finished. The server
   * waits at most `timeoutMs` (default 30000) for them (spec §6.1-§6.3). Returns the handle at once.
   */
  PublishWithAck(topic: string, data: unknown, timeoutMs: number = DEFAULT_ACK_TIMEOUT_MS): ClientAck {
    this.checkOpen();
    checkName("topic", topic);
    const timeout = checkTimeout(timeoutMs);
    const ackId = this.acks.newId();
    return this.startAck(ackId, timeout, this.encoder.publishWithAck(topic, data, ackId, timeout));
  }

  /** Sends `data` to one client (its OnId handler) with acknowledgement (spec §6.4). */
  PublishToIDWithAck(targetId: string, data: unknown, timeoutMs: number = DEFAULT_ACK_TIMEOUT_MS): ClientAck {
    this.checkOpen();
    checkName("target ID", targetId);
    const timeout = checkTimeout(timeoutMs);
    const ackId = this.acks.newId();
    return this.startAck(ackId, timeout, this.encoder.publishToIdWithAck(targetId, data, ackId, timeout));
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
    await this.connection.close();
  }

  // -- internals -------------------------------------------------------------------------------------

  private connectionListener(): ConnectionListener {
    return {
      registered: () => this.restore(),
      connected: () => this.events.emit("connect"),
      lost: () => {
        this.requests.connectionLost();
        this.acks.connectionLost();
        this.statusQueries.connectionLost();
      },
      disconnected: (code, reason) => this.events.emit("disconnect", code, reason),
      frame: (frame) => routeFrame(frame, this.inbound),
      error: (error) => this.events.emit("error", error),
      closed: () => {
        this.requests.connectionLost();
        this.acks.finishAll();
        this.statusQueries.connectionLost();
        this.subscriptions.clear();
        this.outbox.clear();
        this.events.emit("close");
      },
    };
  }

  /**
   * Sends what a new connection needs, in order: unsubscriptions made offline, every subscription, then
   * the queued publications, which so reach the client's own restored subscriptions too.
   */
  private restore(): void {
    for (const topic of this.subscriptions.takeStaleTopics()) {
      this.connection.send(this.encoder.unsubscribe(topic));
    }
    for (const topic of this.subscriptions.topics()) {
      // A subscription the server now refuses (spec §10) is dropped and reported.
      const rid = this.requests.newRid();
      this.requests.add(rid, topic, (refusal) => this.restoreRefused(topic, refusal));
      this.connection.send(this.encoder.subscribe(topic, rid));
    }
    this.outbox.flush();
  }

  private restoreRefused(topic: string, refusal: ServerErrorReply | undefined): void {
    if (refusal !== undefined) {
      this.subscriptions.removeTopic(topic);
      this.reportError(refusal);
    }
  }

  private startAck(ackId: string, timeout: number, text: string): ClientAck {
    const handle = new ClientAck(ackId, timeout, this.ackOwner());
    this.acks.add(handle);
    try {
      this.outbox.send({ text, ackId });
    } catch (error) {
      handle._finish();
      throw error;
    }
    return handle;
  }

  private ackOwner(): AckOwner {
    return {
      forget: (ackId) => {
        this.acks.forget(ackId);
        this.outbox.forgetAck(ackId);
      },
      queryStatus: (ackId) => this.statusQueries.query(ackId),
      cancelOnServer: (ackId) => this.connection.send(this.encoder.cancelAck(ackId)),
    };
  }

  private endSubscription(subscription: Subscription): void {
    if (this.subscriptions.remove(subscription) && !this.connection.isClosed) {
      this.tellUnsubscribed(subscription.topic);
    }
  }

  private tellUnsubscribed(topic: string): void {
    if (!this.connection.send(this.encoder.unsubscribe(topic, this.requests.newRid()))) {
      this.subscriptions.markStale(topic);
    }
  }

  private checkOpen(): void {
    if (this.connection.isClosed) {
      throw new ClientClosed("the client is closed; create a new one with Client.NewClient");
    }
  }
}

function checkName(what: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`the ${what} must be a non-empty string`);
  }
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
