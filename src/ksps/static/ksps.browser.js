/* ksps 0.1.0 | MIT */
"use strict";
var BusClient = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/browser.ts
  var browser_exports = {};
  __export(browser_exports, {
    ACK_GRACE_MS: () => ACK_GRACE_MS,
    AuthError: () => AuthError,
    CallbackError: () => CallbackError,
    Client: () => Client,
    ClientAck: () => ClientAck,
    ClientClosed: () => ClientClosed,
    ConnectionFailed: () => ConnectionFailed,
    ConnectionReplaced: () => ConnectionReplaced,
    DEFAULT_ACK_TIMEOUT_MS: () => DEFAULT_ACK_TIMEOUT_MS,
    KspsError: () => KspsError,
    NewClient: () => NewClient,
    NotConnected: () => NotConnected,
    OfflineQueueFull: () => OfflineQueueFull,
    ProtocolError: () => ProtocolError,
    ServerErrorReply: () => ServerErrorReply,
    defaultClientId: () => defaultClientId,
    tokenClaims: () => tokenClaims
  });

  // src/errors.ts
  var KspsError = class extends Error {
    constructor(message, options) {
      super(message, options);
      this.name = new.target.name;
    }
  };
  var ProtocolError = class extends KspsError {
  };
  var ConnectionFailed = class extends KspsError {
  };
  var ClientClosed = class extends KspsError {
  };
  var ConnectionReplaced = class extends ClientClosed {
  };
  var OfflineQueueFull = class extends KspsError {
  };
  var AuthError = class extends KspsError {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  };
  var ServerErrorReply = class extends KspsError {
    constructor(message, fields = {}) {
      super(message);
      this.code = fields.code ?? "";
      this.topic = fields.topic ?? "";
      this.rid = fields.rid ?? "";
      this.ackId = fields.ackId ?? "";
    }
  };
  var CallbackError = class extends KspsError {
    constructor(topic, cause) {
      const where = topic === "" ? "the OnId handler" : `the callback of topic ${JSON.stringify(topic)}`;
      super(`${where} failed: ${errorText(cause)}`, { cause });
      this.topic = topic;
    }
  };
  var NotConnected = class extends KspsError {
  };
  function errorText(thrown) {
    if (thrown instanceof Error) {
      return thrown.message || thrown.name;
    }
    return String(thrown);
  }

  // src/core/ack-state.ts
  var ACK_GRACE_MS = 500;
  var AckTable = class {
    constructor() {
      this.byHandle = /* @__PURE__ */ new Map();
      this.handleOf = /* @__PURE__ */ new Map();
    }
    add(handle, ackId, expiresAt) {
      const pending = { handle, ackId, expiresAt, sent: false, answered: /* @__PURE__ */ new Set() };
      this.byHandle.set(handle, pending);
      this.handleOf.set(ackId, handle);
      return pending;
    }
    get(handle) {
      return this.byHandle.get(handle);
    }
    byAckId(ackId) {
      const handle = this.handleOf.get(ackId);
      return handle === void 0 ? void 0 : this.byHandle.get(handle);
    }
    remove(pending) {
      this.byHandle.delete(pending.handle);
      this.handleOf.delete(pending.ackId);
    }
    /** Every pending request, oldest first. */
    all() {
      return [...this.byHandle.values()];
    }
    /** The earliest expiry, or null. */
    nextExpiry() {
      let next = null;
      for (const pending of this.byHandle.values()) {
        if (next === null || pending.expiresAt < next) {
          next = pending.expiresAt;
        }
      }
      return next;
    }
  };

  // src/acks.ts
  var ClientAck = class {
    /** Handles are made by `Client.PublishWithAck` and `Client.PublishToIDWithAck`. */
    constructor(handle, ackId, timeoutMs, owner) {
      this.responses = /* @__PURE__ */ new Map();
      this.lastStatus = {};
      this.complete = false;
      this.finished = false;
      this.wasCancelled = false;
      this.statusWaiters = [];
      this.handle = handle;
      this.id = ackId;
      this.timeout = timeoutMs;
      this.owner = owner;
      this.done = new Promise((resolve) => this.resolveDone = resolve);
      this.firstArrived = new Promise((resolve) => this.resolveFirstArrived = resolve);
    }
    // -- what the client feeds in (the core's events) --------------------------------------------------
    /** @internal One responder's answer (`ack_progress`, or a response of the final `ack_response`). */
    _onResponse(response) {
      this.responses.set(response.client_id, response);
      if (this.first === void 0) {
        this.first = response;
        this.resolveFirstArrived();
      }
    }
    /** @internal The server answered `get_ack_status`. */
    _onStatus(status) {
      this.lastStatus = { ...status };
      for (const [resolve] of this.statusWaiters.splice(0)) {
        resolve(this.GetStatus());
      }
    }
    /** @internal A status query could not be asked or answered (not connected). */
    _onStatusRefused(error) {
      for (const [, reject] of this.statusWaiters.splice(0)) {
        reject(error);
      }
    }
    /** @internal The server refused the request (an `error` frame with its ack ID, spec §11). */
    _onRefused(error) {
      this.refusal ?? (this.refusal = error);
    }
    /** @internal The server's final `ack_response` arrived: every expected responder answered. */
    _onFinal() {
      this.complete = true;
    }
    /** @internal The request ended: every pending and later wait resolves at once. */
    _onDone() {
      if (this.finished) {
        return;
      }
      this.finished = true;
      this.resolveDone();
      this.resolveFirstArrived();
      for (const [resolve] of this.statusWaiters.splice(0)) {
        resolve(this.GetStatus());
      }
    }
    // -- the public API --------------------------------------------------------------------------------
    /**
     * Waits until the request ends; resolves to every response by responder client ID. An empty object
     * means nobody answered: no subscriber, a timeout, a cancel or a lost connection. Rejects with
     * {@link ServerErrorReply} (its `code`, e.g. `"forbidden"`) when the server refused the request.
     */
    async Wait() {
      await this.done;
      if (this.refusal !== void 0) {
        throw this.refusal;
      }
      return Object.fromEntries(this.responses);
    }
    /**
     * Waits for the FIRST response to arrive: `{response, success: true}`, or
     * `{response: null, success: false}` when none will (no subscriber, timeout, cancel, lost connection).
     * Does not consume it: `Wait()` still returns it.
     */
    async WaitAny() {
      await this.firstArrived;
      if (this.refusal !== void 0) {
        throw this.refusal;
      }
      return this.first === void 0 ? { response: null, success: false } : { response: this.first, success: true };
    }
    /**
     * Responder client ID -> answered (true) or not yet, from the last known state: the responses received,
     * and the last {@link ClientAck.FetchStatus} answer. Synchronous; it does not ask the server.
     */
    GetStatus() {
      const status = { ...this.lastStatus };
      for (const clientId of this.responses.keys()) {
        status[clientId] = true;
      }
      return status;
    }
    /**
     * True when every expected responder has answered, from the last known state: the server's final
     * answer arrived, or the last fetched status has every responder answered. Synchronous.
     */
    IsComplete() {
      if (this.complete) {
        return true;
      }
      const values = Object.values(this.GetStatus());
      return !this.finished && Object.keys(this.lastStatus).length > 0 && values.every(Boolean);
    }
    /**
     * Asks the server for the status (spec §6.5) and resolves to it (see {@link ClientAck.GetStatus}). Rejects
     * with {@link NotConnected} while disconnected, and once the request ended (the server forgot it; the
     * last known state is {@link ClientAck.GetStatus}).
     */
    FetchStatus() {
      if (this.finished) {
        return Promise.reject(new NotConnected("the request ended: the server no longer has its status"));
      }
      return new Promise((resolve, reject) => {
        this.statusWaiters.push([resolve, reject]);
        this.owner.fetchStatus(this.handle);
      });
    }
    /** Stops waiting: pending and later waits resolve at once with what arrived; the server drops the request. */
    Cancel() {
      if (this.finished) {
        return;
      }
      this.wasCancelled = true;
      this.owner.cancel(this.handle);
    }
    /** True after `Cancel()`. */
    get cancelled() {
      return this.wasCancelled;
    }
    /** Same as {@link ClientAck.Wait}. */
    wait() {
      return this.Wait();
    }
    /** Same as {@link ClientAck.WaitAny}. */
    waitAny() {
      return this.WaitAny();
    }
    /** Same as {@link ClientAck.GetStatus}. */
    getStatus() {
      return this.GetStatus();
    }
    /** Same as {@link ClientAck.IsComplete}. */
    isComplete() {
      return this.IsComplete();
    }
    /** Same as {@link ClientAck.FetchStatus}. */
    fetchStatus() {
      return this.FetchStatus();
    }
    /** Same as {@link ClientAck.Cancel}. */
    cancel() {
      this.Cancel();
    }
  };

  // src/core/backoff.ts
  var ReconnectPolicy = class {
    constructor(initialDelay, factor, maxDelay, random = Math.random) {
      this.initialDelay = initialDelay;
      this.factor = factor;
      this.maxDelay = maxDelay;
      this.random = random;
      this.attempt = 0;
    }
    /** The upper bound of the next delay, in ms. */
    bound() {
      const exponent = Math.min(this.attempt, 64);
      return Math.min(this.maxDelay, this.initialDelay * this.factor ** exponent);
    }
    /** The delay before the next attempt, in ms; advances the sequence. */
    nextDelay() {
      const delay = this.random() * this.bound();
      this.attempt += 1;
      return delay;
    }
    /** Start again from the initial delay (after a successful connection). */
    reset() {
      this.attempt = 0;
    }
  };

  // src/protocol/vocabulary.ts
  var ClientAction = {
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
    ServerToServer: "server-to-server",
    Presence: "presence",
    History: "history"
  };
  var ServerAction = {
    Pong: "pong",
    Subscribed: "subscribed",
    Unsubscribed: "unsubscribed",
    Published: "published",
    Publish: "publish",
    PublishAck: "publish_ack",
    DirectMessage: "direct_message",
    AckResponse: "ack_response",
    AckProgress: "ack_progress",
    AckStatus: "ack_status",
    AckCancelled: "ack_cancelled",
    History: "history",
    ServerMessageSent: "server_message_sent",
    Error: "error",
    Presence: "presence",
    Join: "join",
    Leave: "leave"
  };
  var DIRECT_TOPIC_PREFIX = "__direct_";
  var NO_SUBSCRIBER = "no subscriber for topic";
  var CLOSE_REPLACED = 4001;
  var CLOSE_UNAUTHORIZED = 4003;
  var CLOSE_TOKEN_EXPIRED = 4004;
  var ClientDefaults = {
    address: "",
    path: "/ws/bus",
    secure: false,
    id: "",
    token: "",
    autorestart: false,
    reconnect: true,
    reconnectInitialDelay: 500,
    reconnectFactor: 2,
    reconnectMaxDelay: 3e4,
    offlineQueueSize: 1024,
    offlineQueuePolicy: "drop_oldest",
    keepaliveInterval: 2e4,
    keepaliveTimeout: 2e4,
    connectTimeout: 1e4,
    ackTimeout: 3e4
  };

  // src/protocol/actions.ts
  function directTopicPrefix(clientId) {
    return `${DIRECT_TOPIC_PREFIX}${clientId}_`;
  }

  // src/core/frames.ts
  var FrameBuilder = class {
    constructor(clientId) {
      this.clientId = clientId;
    }
    /** Registration and the in-place token refresh (spec §3.1, §10); `token` left out when empty. */
    ping(rid, token = "") {
      return this.frame(token === "" ? { action: ClientAction.Ping, rid } : { action: ClientAction.Ping, token, rid });
    }
    /** `joinLeave`: also the topic's join/leave events (spec §15.3); `since`: recover from there (spec §14.3). */
    subscribe(topic, rid, joinLeave = false, since) {
      const frame = { action: ClientAction.Subscribe, topic };
      if (joinLeave) frame["join_leave"] = true;
      if (since !== void 0) frame["since"] = { offset: since.offset, epoch: since.epoch };
      frame["rid"] = rid;
      return this.frame(frame);
    }
    /** A read of a topic's kept publications (spec §14.4): `limit` 0 is valid, `reverse` only when true. */
    history(topic, rid, since, limit, reverse = false) {
      const frame = { action: ClientAction.History, topic, rid };
      if (since !== void 0) frame["since"] = { offset: since.offset, epoch: since.epoch };
      if (limit !== void 0) frame["limit"] = limit;
      if (reverse) frame["reverse"] = true;
      return this.frame(frame);
    }
    /** The members of a topic (spec §15.2). */
    presence(topic, rid) {
      return this.frame({ action: ClientAction.Presence, topic, rid });
    }
    unsubscribe(topic, rid) {
      return this.frame({ action: ClientAction.Unsubscribe, topic, rid });
    }
    /** No `rid` on plain publications: the fast path; a refusal is matched by `topic` (spec §11.1). */
    publish(topic, data) {
      return this.frame({ action: ClientAction.Publish, topic, data });
    }
    direct(to, data) {
      return this.frame({ action: ClientAction.DirectMessage, to, data });
    }
    publishToServer(address, data, secure) {
      return this.frame({ action: ClientAction.PublishToServer, to: address, data, status: { is_secure: secure } });
    }
    /** Always asks for `ack_progress`, so WaitAny sees the first answer (spec §6.3). */
    publishWithAck(topic, data, ackId, timeout) {
      return this.frame({ action: ClientAction.PublishWithAck, topic, data, ack_id: ackId, timeout, progress: true });
    }
    publishToIdWithAck(to, data, ackId, timeout) {
      return this.frame({ action: ClientAction.PublishToIdWithAck, to, data, ack_id: ackId, timeout, progress: true });
    }
    /** A subscriber's answer to a `publish_ack` (spec §6.1). */
    ack(serverAckId, success, error = "") {
      const data = { ack_id: serverAckId, client_id: this.clientId, success };
      if (error !== "") {
        data["error"] = error;
      }
      return this.frame({ action: ClientAction.Ack, ack_id: serverAckId, data });
    }
    getAckStatus(ackId, rid) {
      return this.frame({ action: ClientAction.GetAckStatus, ack_id: ackId, rid });
    }
    cancelAck(ackId) {
      return this.frame({ action: ClientAction.CancelAck, ack_id: ackId });
    }
    frame(frame) {
      frame["from"] = this.clientId;
      return frame;
    }
  };

  // src/protocol/codec.ts
  function parseServerMessage(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ProtocolError(`invalid JSON from the server: ${error.message}`, { cause: error });
    }
    return Array.isArray(value) ? value : [value];
  }
  function unwrapDelivery(frame) {
    const outer = frame.data;
    if (isObject(outer) && "data" in outer) {
      const nestedFrom = typeof outer["from"] === "string" ? outer["from"] : "";
      return { data: outer["data"], from: frame.from ?? nestedFrom };
    }
    return { data: outer ?? null, from: frame.from ?? "" };
  }
  function readAckResponse(value, fallbackClientId = "") {
    if (!isObject(value)) {
      return void 0;
    }
    const clientId = typeof value["client_id"] === "string" ? value["client_id"] : fallbackClientId;
    if (clientId === "") {
      return void 0;
    }
    const response = {
      ack_id: typeof value["ack_id"] === "string" ? value["ack_id"] : "",
      client_id: clientId,
      success: value["success"] === true
    };
    if (typeof value["error"] === "string" && value["error"] !== "") {
      response.error = value["error"];
    }
    return response;
  }
  var STRING_MEMBERS = ["topic", "from", "to", "id", "error", "ack_id", "rid", "code"];
  function checkFrame(value) {
    if (!isObject(value)) {
      throw new ProtocolError("invalid frame from the server: expected a JSON object");
    }
    const action = value["action"];
    if (typeof action !== "string" || action === "") {
      throw new ProtocolError("invalid frame from the server: missing action");
    }
    const frame = { action };
    for (const key of STRING_MEMBERS) {
      const member = value[key];
      if (member === void 0 || member === null) {
        continue;
      }
      if (typeof member !== "string") {
        throw new ProtocolError(`invalid frame from the server: ${key} must be a string`);
      }
      frame[key] = member;
    }
    if ("data" in value) {
      frame.data = value["data"];
    }
    const status = readStatus(value["status"]);
    if (status !== void 0) {
      frame.status = status;
    }
    readPresence(value, frame);
    readHistory(value, frame);
    const responses = readResponses(value["responses"]);
    if (responses !== void 0) {
      frame.responses = responses;
    }
    return frame;
  }
  function readPresence(value, frame) {
    const count = value["count"];
    if (typeof count === "number" && Number.isInteger(count)) {
      frame.count = count;
    }
    const ids = value["ids"];
    if (Array.isArray(ids)) {
      frame.ids = ids.filter((id) => typeof id === "string");
    }
    if (value["truncated"] === true) {
      frame.truncated = true;
    }
  }
  function readHistory(value, frame) {
    if (isOffset(value["offset"])) {
      frame.offset = value["offset"];
    }
    if (typeof value["epoch"] === "string") {
      frame.epoch = value["epoch"];
    }
    if (typeof value["recovered"] === "boolean") {
      frame.recovered = value["recovered"];
    }
    const publications = value["publications"];
    if (Array.isArray(publications)) {
      frame.publications = publications.filter(isObject).map((entry) => ({
        data: entry["data"] ?? null,
        from: typeof entry["from"] === "string" ? entry["from"] : "",
        offset: isOffset(entry["offset"]) ? entry["offset"] : 0
      }));
    }
  }
  function isOffset(value) {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  }
  function readStatus(value) {
    if (!isObject(value)) {
      return void 0;
    }
    const status = {};
    for (const [clientId, received] of Object.entries(value)) {
      if (clientId !== "__proto__") {
        status[clientId] = received === true;
      }
    }
    return status;
  }
  function readResponses(value) {
    if (!isObject(value)) {
      return void 0;
    }
    const responses = {};
    for (const [clientId, entry] of Object.entries(value)) {
      const response = readAckResponse(entry, clientId);
      if (response !== void 0 && clientId !== "__proto__") {
        responses[clientId] = response;
      }
    }
    return responses;
  }
  function isObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }

  // src/core/inbound.ts
  var ALL_KINDS = ["subscribe", "restore", "unsubscribe", "status", "presence", "history"];
  var SUBSCRIBE_KINDS = ["subscribe", "restore"];
  function routeFrame(session, value) {
    let frame;
    try {
      frame = checkFrame(value);
    } catch (error) {
      session.detail = error.message;
      session.emit({ type: "error", error: "ProtocolError" });
      return;
    }
    if (session.phase === "registering") {
      registering(session, frame);
    } else if (session.registered) {
      route(session, frame);
    }
  }
  function registering(session, frame) {
    const answersPing = frame.rid === void 0 || frame.rid === session.registerRid;
    if (frame.action === ServerAction.Pong && answersPing) {
      session.registeredNow();
    } else if (frame.action === ServerAction.Error && answersPing) {
      session.registrationRefused(frame.error ?? "error", frame.code ?? "");
    }
  }
  function route(session, frame) {
    switch (frame.action) {
      case ServerAction.Publish:
      case ServerAction.PublishAck:
        return deliver(session, frame);
      case ServerAction.DirectMessage:
        return session.emit({ type: "direct", data: frame.data ?? null, from: frame.from ?? "" });
      case ServerAction.AckProgress: {
        const response = readAckResponse(frame.data);
        return response === void 0 ? void 0 : ackResponses(session, frame.ack_id ?? "", [response], false);
      }
      case ServerAction.AckResponse:
        return ackResponses(session, frame.ack_id ?? "", Object.values(frame.responses ?? {}), true);
      case ServerAction.Subscribed:
        return subscribed(session, frame, session.requests.take(frame.rid, SUBSCRIBE_KINDS, frame.topic ?? ""));
      case ServerAction.History:
        return historyAnswer(session, frame);
      case ServerAction.Unsubscribed: {
        const request = session.requests.take(frame.rid, ["unsubscribe"], frame.topic ?? "");
        return request?.handle ? session.emit({ type: "unsubscribed", handle: request.handle }) : void 0;
      }
      case ServerAction.AckStatus: {
        const request = session.requests.take(frame.rid, ["status"], frame.ack_id ?? "");
        return request === void 0 ? void 0 : session.emit({ type: "status", handle: request.handle, status: frame.status ?? {} });
      }
      case ServerAction.Presence: {
        const request = session.requests.take(frame.rid, ["presence"], frame.topic ?? "");
        return request === void 0 ? void 0 : session.emit({
          type: "presence",
          handle: request.handle,
          count: frame.count ?? 0,
          ids: frame.ids ?? [],
          truncated: frame.truncated === true
        });
      }
      case ServerAction.Join:
      case ServerAction.Leave:
        return frame.topic === void 0 || frame.id === void 0 || frame.id === "" || !session.joinLeave.has(frame.topic) ? void 0 : session.emit({ type: frame.action, topic: frame.topic, id: frame.id });
      case ServerAction.Pong:
        if (frame.rid !== void 0 && frame.rid === session.refreshRid) session.refreshRid = "";
        return void 0;
      case ServerAction.Error:
        return routeError(session, frame);
      default:
        return void 0;
    }
  }
  function deliver(session, frame) {
    const topic = frame.topic ?? "";
    const ackId = frame.action === ServerAction.PublishAck ? frame.ack_id ?? "" : "";
    const message = unwrapDelivery(frame);
    const withAck = ackId === "" ? {} : { ack_id: ackId };
    if (ackId !== "" && topic.startsWith(directTopicPrefix(session.options.id))) {
      session.emit({ type: "direct", data: message.data, from: message.from, ...withAck });
    } else if (session.topics.has(topic)) {
      const offset = frame.offset;
      const position = session.positions.get(topic);
      if (offset !== void 0 && position !== void 0) {
        session.positions.set(topic, { offset, epoch: position.epoch });
      }
      session.emit({ type: "delivery", topic, data: message.data, from: message.from, ...withAck, ...offset === void 0 ? {} : { offset } });
    } else if (ackId !== "") {
      session.send(session.frames.ack(ackId, false, NO_SUBSCRIBER));
    }
  }
  function ackResponses(session, ackId, responses, final) {
    const pending = session.acks.byAckId(ackId);
    if (pending === void 0) {
      return;
    }
    for (const response of responses) {
      if (pending.answered.has(response.client_id)) {
        continue;
      }
      pending.answered.add(response.client_id);
      const event = { type: "ack_response", handle: pending.handle, client_id: response.client_id, success: response.success };
      session.emit(response.error === void 0 ? event : { ...event, error: response.error });
    }
    if (final) {
      session.endAck(pending.handle);
    }
  }
  function subscribed(session, frame, request) {
    if (request !== void 0 && session.topics.has(request.key)) {
      streamPosition(session, frame, request);
    }
    if (request?.kind === "restore") {
      for (const handle of session.takeWaiting(request.key)) {
        session.emit({ type: "subscribed", handle });
      }
      session.restored();
    } else if (request?.handle) {
      session.emit({ type: "subscribed", handle: request.handle });
    }
  }
  function streamPosition(session, frame, request) {
    const { offset, epoch } = frame;
    const position = offset !== void 0 && epoch !== void 0 ? { offset, epoch } : void 0;
    if (position !== void 0) {
      session.positions.set(request.key, position);
    }
    if (epoch !== void 0 || frame.recovered !== void 0) {
      session.emit({
        type: "subscription",
        topic: request.key,
        recovering: request.recovering === true,
        recovered: frame.recovered === true,
        ...position
      });
    }
  }
  function historyAnswer(session, frame) {
    const request = session.requests.take(frame.rid, ["history"], frame.topic ?? "");
    if (request !== void 0) {
      session.emit({
        type: "history",
        handle: request.handle,
        publications: frame.publications ?? [],
        offset: frame.offset ?? 0,
        epoch: frame.epoch ?? ""
      });
    }
  }
  function routeError(session, frame) {
    const text = frame.error ?? "error";
    const code = frame.code ?? "";
    session.detail = text;
    if (frame.rid !== void 0 && frame.rid === session.refreshRid) {
      session.refreshRid = "";
      session.detail = `the server refused the refreshed token: ${text}`;
      return session.emit({ type: "error", error: "AuthError", code: CLOSE_UNAUTHORIZED });
    }
    const request = frame.rid === void 0 ? void 0 : session.requests.take(frame.rid, ALL_KINDS, "");
    if (request !== void 0) {
      return refused(session, request, code, frame.topic);
    }
    const pending = frame.ack_id === void 0 ? void 0 : session.acks.byAckId(frame.ack_id);
    if (pending !== void 0) {
      session.emit({ type: "refused", handle: pending.handle, error: "ServerErrorReply", code });
      return session.endAck(pending.handle);
    }
    session.emit(errorEvent(code, frame.topic));
  }
  function refused(session, request, code, topic) {
    if (request.kind === "subscribe" || request.kind === "restore") {
      session.topics.delete(request.key);
      session.joinLeave.delete(request.key);
      session.positions.delete(request.key);
    }
    const handles = request.kind === "restore" ? session.takeWaiting(request.key) : [request.handle].filter(Boolean);
    if (request.kind === "restore") {
      session.restored();
    }
    for (const handle of handles) {
      session.emit({ type: "refused", handle, error: "ServerErrorReply", code });
    }
    if (handles.length === 0) {
      session.emit(errorEvent(code, topic ?? request.key));
    }
  }
  function errorEvent(code, topic) {
    return { type: "error", error: "ServerErrorReply", ...code === "" ? {} : { code }, ...topic === void 0 ? {} : { topic } };
  }

  // src/core/intents.ts
  function applyIntent(session, input) {
    switch (input.type) {
      case "subscribe":
        return subscribe(session, input.topic, input.handle ?? "", input.join_leave === true, input.since);
      case "presence":
        return presence(session, input.topic, input.handle);
      case "history":
        return history(session, input);
      case "unsubscribe":
        return unsubscribe(session, input.topic, input.handle ?? "");
      case "publish":
        return sendOrQueue(session, session.frames.publish(input.topic, input.data));
      case "publish_to_id":
        return sendOrQueue(session, session.frames.direct(input.to, input.data));
      case "publish_to_server":
        return sendOrQueue(session, session.frames.publishToServer(input.address, input.data, input.secure));
      case "publish_with_ack": {
        const ackId = startAck(session, input.handle, input.timeout);
        return sendOrQueue(session, session.frames.publishWithAck(input.topic, input.data, ackId, input.timeout), input.handle);
      }
      case "publish_to_id_with_ack": {
        const ackId = startAck(session, input.handle, input.timeout);
        return sendOrQueue(session, session.frames.publishToIdWithAck(input.to, input.data, ackId, input.timeout), input.handle);
      }
      case "cancel":
        return cancel(session, input.ack);
      case "fetch_status":
        return fetchStatus(session, input.ack);
      case "ack":
        return session.registered ? session.send(session.frames.ack(input.ack_id, input.success, input.error)) : void 0;
      case "refresh_token":
        return refreshToken(session, input.token);
    }
  }
  function subscribe(session, topic, handle, joinLeave, since) {
    session.topics.add(topic);
    if (since !== void 0) {
      session.positions.set(topic, { offset: since.offset, epoch: since.epoch });
    }
    if (joinLeave) {
      session.joinLeave.add(topic);
    } else {
      session.joinLeave.delete(topic);
    }
    if (!session.registered) {
      session.wait(topic, handle);
      return;
    }
    const rid = session.env.newRid();
    session.requests.add(rid, since === void 0 ? { kind: "subscribe", key: topic, handle } : { kind: "subscribe", key: topic, handle, recovering: true });
    session.send(session.frames.subscribe(topic, rid, joinLeave, since));
  }
  function unsubscribe(session, topic, handle) {
    const held = session.topics.delete(topic) && session.registered;
    session.joinLeave.delete(topic);
    session.positions.delete(topic);
    for (const waiting of session.takeWaiting(topic)) {
      session.emit({ type: "subscribed", handle: waiting });
    }
    if (!held) {
      if (handle !== "") session.emit({ type: "unsubscribed", handle });
      return;
    }
    const rid = session.env.newRid();
    session.requests.add(rid, { kind: "unsubscribe", key: topic, handle });
    session.send(session.frames.unsubscribe(topic, rid));
  }
  function sendOrQueue(session, frame, handle) {
    if (session.phase === "ready") {
      session.send(frame);
      const pending = handle === void 0 ? void 0 : session.acks.get(handle);
      if (pending !== void 0) pending.sent = true;
      return;
    }
    const dropped = session.queue.push(handle === void 0 ? { frame } : { frame, handle });
    if (dropped !== void 0) {
      session.emit({ type: "queue_overflow", dropped: dropped.frame });
      if (dropped.handle !== void 0) session.endAck(dropped.handle);
    }
  }
  function startAck(session, handle, timeout) {
    const ackId = session.env.newAckId();
    session.acks.add(handle, ackId, session.now + timeout + ACK_GRACE_MS);
    return ackId;
  }
  function cancel(session, handle) {
    const pending = session.acks.get(handle);
    if (pending === void 0) {
      return;
    }
    if (pending.sent && session.registered) {
      session.send(session.frames.cancelAck(pending.ackId));
    }
    session.endAck(handle);
  }
  function fetchStatus(session, handle) {
    const pending = session.acks.get(handle);
    if (pending === void 0 || !pending.sent || session.phase !== "ready") {
      session.notConnected(handle);
      return;
    }
    const rid = session.env.newRid();
    session.requests.add(rid, { kind: "status", key: pending.ackId, handle });
    session.send(session.frames.getAckStatus(pending.ackId, rid));
  }
  function refreshToken(session, token) {
    if (session.phase === "ready") {
      session.refreshRid = session.env.newRid();
      session.send(session.frames.ping(session.refreshRid, token));
    }
  }
  function presence(session, topic, handle) {
    if (!session.registered) {
      session.notConnected(handle);
      return;
    }
    const rid = session.env.newRid();
    session.requests.add(rid, { kind: "presence", key: topic, handle });
    session.send(session.frames.presence(topic, rid));
  }
  function history(session, input) {
    if (!session.registered) {
      session.notConnected(input.handle);
      return;
    }
    const rid = session.env.newRid();
    session.requests.add(rid, { kind: "history", key: input.topic, handle: input.handle });
    session.send(session.frames.history(input.topic, rid, input.since, input.limit, input.reverse === true));
  }

  // src/core/offline-queue.ts
  var OfflineQueue = class {
    constructor(capacity, policy) {
      this.capacity = capacity;
      this.policy = policy;
      this.frames = [];
    }
    get size() {
      return this.frames.length;
    }
    /** Queues one frame. Returns the frame dropped to respect the bound, if any. */
    push(entry) {
      if (this.frames.length < this.capacity) {
        this.frames.push(entry);
        return void 0;
      }
      if (this.policy !== "drop_oldest" || this.capacity === 0) {
        return entry;
      }
      const dropped = this.frames.shift();
      this.frames.push(entry);
      return dropped;
    }
    /** Removes the queued request of one ack handle, if it is still queued; true when it was. */
    removeHandle(handle) {
      const before = this.frames.length;
      this.frames = this.frames.filter((entry) => entry.handle !== handle);
      return this.frames.length !== before;
    }
    /** Removes and returns every queued frame, oldest first. */
    drain() {
      const frames = this.frames;
      this.frames = [];
      return frames;
    }
  };

  // src/core/requests.ts
  var RequestTable = class {
    constructor() {
      this.byRid = /* @__PURE__ */ new Map();
    }
    add(rid, request) {
      this.byRid.set(rid, request);
    }
    /**
     * Takes the request a reply answers: by `rid`, else (no `rid`: an original server) the oldest request
     * of one of `kinds` about `key`.
     */
    take(rid, kinds, key) {
      let found = rid;
      if (rid === void 0) {
        for (const [candidate, request2] of this.byRid) {
          if (kinds.includes(request2.kind) && request2.key === key) {
            found = candidate;
            break;
          }
        }
      }
      const request = found === void 0 ? void 0 : this.byRid.get(found);
      if (found === void 0 || request === void 0 || !kinds.includes(request.kind)) {
        return void 0;
      }
      this.byRid.delete(found);
      return request;
    }
    /** Every pending request, forgotten (the connection is gone). */
    drain() {
      const requests = [...this.byRid.values()];
      this.byRid.clear();
      return requests;
    }
  };

  // src/core/close-codes.ts
  var HTTP_UNAUTHORIZED = 401;
  function closeDecision(code, reason, context) {
    const { options } = context;
    if (code === CLOSE_REPLACED) {
      const error = { type: "error", error: "ConnectionReplaced", code: CLOSE_REPLACED };
      return { action: "close", error, detail: `replaced by a newer connection with the same ID (close code ${CLOSE_REPLACED})` };
    }
    const authCode = authRefusal(code, reason);
    if (authCode !== void 0) {
      const error = { type: "error", error: "AuthError", code: authCode };
      const detail = authCode === CLOSE_TOKEN_EXPIRED ? `the token expired: ${reason || "token expired"}` : `the server refused the credentials: ${reason || "unauthorized"}`;
      if (!options.refreshableToken || context.firstAttempt && !options.autorestart) {
        return { action: "close", error, detail };
      }
      return { action: authCode === CLOSE_TOKEN_EXPIRED ? "now" : "backoff", error, detail };
    }
    if (!context.wasReady) {
      const why = code === null ? reason || "connection failed" : `closed with code ${code}${reason ? ` (${reason})` : ""}`;
      const error = { type: "error", error: "ConnectionFailed" };
      const detail = `could not connect to ${options.url}: ${why}`;
      return { action: context.firstAttempt && !options.autorestart ? "close" : "backoff", error, detail };
    }
    return { action: options.reconnect ? "backoff" : "close", detail: "" };
  }
  function authRefusal(code, reason) {
    if (code === CLOSE_UNAUTHORIZED || code === CLOSE_TOKEN_EXPIRED || code === HTTP_UNAUTHORIZED) {
      return code;
    }
    if (code === null && /\b401\b/.test(reason ?? "")) {
      return HTTP_UNAUTHORIZED;
    }
    return void 0;
  }

  // src/core/session.ts
  var ClientSession = class {
    constructor(options, env) {
      this.options = options;
      this.env = env;
      /** @internal */
      this.phase = "idle";
      /** @internal */
      this.acks = new AckTable();
      /** @internal */
      this.requests = new RequestTable();
      /** @internal */
      this.topics = /* @__PURE__ */ new Set();
      /** @internal The topics subscribed with join/leave events (spec §15.3), kept for the restores. */
      this.joinLeave = /* @__PURE__ */ new Set();
      /**
       * @internal Where each subscribed history topic's stream is (spec §14.2): set by a `subscribe` with
       * `since` and by each `subscribed` reply with a position, advanced by each delivery's offset; restores
       * recover from it (spec §14.3). Gone with the topic's unsubscribe or refusal.
       */
      this.positions = /* @__PURE__ */ new Map();
      /**
       * @internal Subscribe handles waiting for the next connection's confirmation of their topic: made
       * offline, or sent on a connection lost before the answer. They settle with the restoring subscribe.
       */
      this.waiting = /* @__PURE__ */ new Map();
      /** @internal */
      this.registerRid = "";
      /** @internal */
      this.refreshRid = "";
      /** @internal */
      this.out = [];
      /** @internal */
      this.now = 0;
      /**
       * Why the last `error` or `refused` event happened, in words, for the driver's error message (events
       * carry only the error class: texts are each language's own).
       */
      this.detail = "";
      this.connectedOnce = false;
      this.restoring = 0;
      this.timerAt = null;
      this.frames = new FrameBuilder(options.id);
      this.queue = new OfflineQueue(options.offlineQueueSize, options.offlineQueuePolicy);
      this.policy = new ReconnectPolicy(
        options.reconnectInitialDelay,
        options.reconnectFactor,
        options.reconnectMaxDelay,
        () => env.random()
      );
    }
    /** The absolute time of the next `timer` input the driver must feed, or null for none. */
    get deadline() {
      const expiry = this.acks.nextExpiry();
      if (this.timerAt === null || expiry !== null && expiry < this.timerAt) {
        return expiry;
      }
      return this.timerAt;
    }
    /** True once closed for good. */
    get closed() {
      return this.phase === "closed";
    }
    /** True while registered and restored: publications go out at once. */
    get ready() {
      return this.phase === "ready";
    }
    /** The remembered position of a subscribed history topic (a copy), or undefined (spec §14.2). */
    position(topic) {
      const position = this.positions.get(topic);
      return position === void 0 ? void 0 : { offset: position.offset, epoch: position.epoch };
    }
    /** Takes one input at time `now`; returns what the driver must do, in order. */
    handle(input, now) {
      this.now = now;
      this.out = [];
      if (this.phase !== "closed") {
        this.step(input);
      } else {
        this.afterClose(input);
      }
      return this.out;
    }
    /** Closed for good: what still names a handle is answered at once, the rest is ignored. */
    afterClose(input) {
      if (input.type === "subscribe" || input.type === "presence" || input.type === "history") {
        if (input.handle) {
          this.detail = "the client is closed";
          this.emit({ type: "refused", handle: input.handle, error: "ClientClosed", code: "" });
        }
      } else if (input.type === "unsubscribe") {
        this.positions.delete(input.topic);
        if (input.handle) this.emit({ type: "unsubscribed", handle: input.handle });
      } else if (input.type === "publish_with_ack" || input.type === "publish_to_id_with_ack") {
        this.emit({ type: "ack_done", handle: input.handle });
      }
    }
    step(input) {
      switch (input.type) {
        case "start":
          return this.phase === "idle" ? this.connect() : void 0;
        case "opened":
          return this.opened(input.token ?? this.options.token);
        case "frame":
          return routeFrame(this, input.frame);
        case "lost":
          return this.connectionEnded(input.code, input.reason);
        case "timer":
          return this.timer();
        case "close":
          return this.close();
        default:
          return applyIntent(this, input);
      }
    }
    // -- outputs ---------------------------------------------------------------------------------------
    /** @internal */
    send(frame) {
      this.out.push({ type: "send", frame });
    }
    /** @internal */
    emit(event) {
      this.out.push({ type: "event", event });
    }
    /** @internal True while frames can go out on the connection (registered). */
    get registered() {
      return this.phase === "restoring" || this.phase === "ready";
    }
    // -- the connection --------------------------------------------------------------------------------
    connect() {
      this.phase = "connecting";
      this.timerAt = this.now + this.options.connectTimeout;
      this.out.push({ type: "open", url: this.options.url });
    }
    opened(token) {
      if (this.phase !== "connecting") {
        return;
      }
      this.phase = "registering";
      this.timerAt = this.now + this.options.connectTimeout;
      this.registerRid = this.env.newRid();
      this.send(this.frames.ping(this.registerRid, token));
    }
    /** @internal The server answered the registration `ping`: restore the subscriptions (spec §4.1). */
    registeredNow() {
      this.phase = "restoring";
      for (const topic of this.topics) {
        const rid = this.env.newRid();
        const since = this.positions.get(topic);
        this.requests.add(rid, since === void 0 ? { kind: "restore", key: topic, handle: "" } : { kind: "restore", key: topic, handle: "", recovering: true });
        this.restoring += 1;
        this.send(this.frames.subscribe(topic, rid, this.joinLeave.has(topic), since));
      }
      if (this.restoring === 0) {
        this.becomeReady();
      }
    }
    /** @internal One restoring subscription was answered (confirmed, or refused and reported). */
    restored() {
      this.restoring -= 1;
      if (this.restoring === 0 && this.phase === "restoring") {
        this.becomeReady();
      }
    }
    becomeReady() {
      this.phase = "ready";
      this.timerAt = null;
      this.connectedOnce = true;
      this.policy.reset();
      for (const entry of this.queue.drain()) {
        const pending = entry.handle === void 0 ? void 0 : this.acks.get(entry.handle);
        if (entry.handle !== void 0 && pending === void 0) {
          continue;
        }
        this.send(entry.frame);
        if (pending !== void 0) {
          pending.sent = true;
        }
      }
      this.emit({ type: "connected" });
    }
    /** @internal The server refused the registration (e.g. `code: "id_taken"`, spec §10.6). */
    registrationRefused(error, code) {
      this.out.push({ type: "close", code: 1e3, reason: "registration refused" });
      this.connectionEnded(null, `the server refused the registration: ${error}`, true, code);
    }
    timer() {
      for (const pending of this.acks.all()) {
        if (pending.expiresAt <= this.now) {
          this.endAck(pending.handle);
        }
      }
      if (this.timerAt === null || this.timerAt > this.now) {
        return;
      }
      if (this.phase === "waiting") {
        this.connect();
      } else if (this.phase === "connecting" || this.phase === "registering" || this.phase === "restoring") {
        this.out.push({ type: "close", code: 1e3, reason: "connect timeout" });
        this.connectionEnded(null, `connection attempt timed out after ${this.options.connectTimeout} ms`, true);
      }
    }
    /** The connection ended (lost, refused, timed out): report, then reconnect or close (spec §7.2). */
    connectionEnded(code, reason, attemptFailed = false, refusalCode = "") {
      const phase = this.phase;
      if (phase !== "connecting" && phase !== "registering" && phase !== "restoring" && phase !== "ready") {
        return;
      }
      this.phase = "waiting";
      this.timerAt = null;
      this.restoring = 0;
      if (phase === "ready") {
        this.emit({ type: "disconnected", code, reason });
      }
      this.forgetConnection();
      const decision = closeDecision(attemptFailed ? null : code, reason, {
        wasReady: phase === "ready" && !attemptFailed,
        firstAttempt: !this.connectedOnce,
        options: this.options
      });
      if (decision.error !== void 0) {
        this.detail = decision.detail;
        this.emit(refusalCode === "" ? decision.error : { ...decision.error, code: refusalCode });
      }
      if (decision.action === "close") {
        this.finishClose();
      } else {
        const delay = decision.action === "now" ? 0 : Math.floor(this.policy.nextDelay());
        this.timerAt = this.now + delay;
        this.emit({ type: "reconnecting", delay });
      }
    }
    /** What was sent on the connection and not answered is lost: requests end, sent acks end. */
    forgetConnection() {
      this.refreshRid = "";
      for (const request of this.requests.drain()) {
        if (request.handle === "") {
          continue;
        }
        if (request.kind === "subscribe") {
          this.wait(request.key, request.handle);
        } else if (request.kind === "unsubscribe") {
          this.emit({ type: "unsubscribed", handle: request.handle });
        } else if (request.kind === "status" || request.kind === "presence" || request.kind === "history") {
          this.notConnected(request.handle);
        }
      }
      for (const pending of this.acks.all()) {
        if (pending.sent) {
          this.endAck(pending.handle);
        }
      }
    }
    /** The application closes: no `disconnected` (it knows), and `closed` ends every handle. */
    close() {
      if (this.phase === "connecting" || this.phase === "registering" || this.registered) {
        this.out.push({ type: "close", code: 1e3, reason: "" });
      }
      this.finishClose();
    }
    /** Closed for good: `closed` is final, every pending handle is over with it (the driver ends them). */
    finishClose() {
      this.phase = "closed";
      this.timerAt = null;
      this.queue.drain();
      this.requests.drain();
      this.waiting.clear();
      for (const pending of this.acks.all()) {
        this.acks.remove(pending);
      }
      this.emit({ type: "closed" });
    }
    // -- intents ---------------------------------------------------------------------------------------
    /** @internal Takes the handles waiting for the confirmation of `topic`. */
    takeWaiting(topic) {
      const handles = this.waiting.get(topic) ?? [];
      this.waiting.delete(topic);
      return handles;
    }
    /** @internal A subscribe handle waits for the next connection's restore. */
    wait(topic, handle) {
      if (handle !== "") {
        this.waiting.set(topic, [...this.waiting.get(topic) ?? [], handle]);
      }
    }
    /** @internal Ends an ack handle: `ack_done`, and its request leaves the offline queue. */
    endAck(handle) {
      const pending = this.acks.get(handle);
      if (pending !== void 0) {
        this.acks.remove(pending);
        this.queue.removeHandle(handle);
        this.emit({ type: "ack_done", handle });
      }
    }
    /** @internal */
    notConnected(handle) {
      this.detail = "not connected: this needs an answer from the server";
      this.emit({ type: "refused", handle, error: "NotConnected", code: "" });
    }
  };

  // src/keepalive.ts
  var Liveness = class {
    constructor(interval, timeout, now, probe, dead) {
      this.interval = interval;
      this.timeout = timeout;
      this.now = now;
      this.probe = probe;
      this.dead = dead;
      this.lastReceivedAt = now();
      this.schedule(interval);
    }
    /** Something arrived: the connection is alive. */
    received() {
      this.lastReceivedAt = this.now();
    }
    /** Stops watching (the connection ended). */
    stop() {
      clearTimeout(this.timer);
      this.timer = void 0;
    }
    schedule(delay) {
      if (this.interval > 0) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.check(), delay);
      }
    }
    check() {
      const time = this.now();
      if (this.probeSentAt !== void 0 && this.lastReceivedAt < this.probeSentAt) {
        const waited = time - this.probeSentAt;
        if (waited >= this.timeout) {
          this.stop();
          this.dead(Math.round(time - this.lastReceivedAt));
        } else {
          this.schedule(this.timeout - waited);
        }
        return;
      }
      this.probeSentAt = void 0;
      const silence = time - this.lastReceivedAt;
      if (silence < this.interval) {
        this.schedule(this.interval - silence);
        return;
      }
      this.probeSentAt = time;
      this.probe();
      this.schedule(this.timeout);
    }
  };

  // src/tokens.ts
  var REFRESH_LEAD_MS = 3e4;
  var REFRESH_FRACTION = 0.2;
  function tokenClaims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) {
      return {};
    }
    try {
      const base64 = (parts[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
      const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
      const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? claims : {};
    } catch {
      return {};
    }
  }
  function tokenExpiry(token) {
    const exp = tokenClaims(token)["exp"];
    return typeof exp === "number" && Number.isFinite(exp) ? Math.floor(exp) * 1e3 : void 0;
  }
  function tokenSubject(token) {
    const sub = tokenClaims(token)["sub"];
    return typeof sub === "string" ? sub : "";
  }
  function refreshDelay(expiry, now) {
    const remaining = expiry - now;
    return Math.max(0, remaining - Math.min(REFRESH_LEAD_MS, remaining * REFRESH_FRACTION));
  }
  var TokenSource = class {
    constructor(current, getToken) {
      this.current = current;
      this.getToken = getToken;
    }
    /** True when a callback can supply new tokens (auth refusals are then retried). */
    get refreshable() {
      return this.getToken !== void 0;
    }
    /** The token for the next (re)connection: a fresh one from the callback, else the static one. */
    async fetch() {
      if (this.getToken === void 0) {
        return this.current;
      }
      const token = await this.getToken();
      if (typeof token !== "string") {
        throw new TypeError(`GetToken must return a string, got ${typeof token}`);
      }
      this.current = token;
      return token;
    }
    /** `exp` of the current token in ms, or undefined. */
    expiry() {
      return this.current === "" ? void 0 : tokenExpiry(this.current);
    }
    /** Ms until the current token should be refreshed in place; undefined when it never needs to be. */
    refreshIn() {
      const expiry = this.expiry();
      if (this.getToken === void 0 || expiry === void 0) {
        return void 0;
      }
      return refreshDelay(expiry, Date.now());
    }
  };

  // src/upgrade-hint.ts
  function upgradeFailureHint(url) {
    const page = globalThis.location;
    if (page?.origin === void 0 || page.origin === "null" || typeof globalThis.document !== "object") {
      return void 0;
    }
    let busHost;
    try {
      busHost = new URL(url).host;
    } catch {
      return void 0;
    }
    const unknown = "the browser does not say why: the server is down or unreachable, or it refused the WebSocket upgrade";
    if (page.host === busHost) {
      return `${unknown} (see the server's log)`;
    }
    return `${unknown}; this page's origin ${page.origin} is not the bus's (${busHost}), and a server refuses other origins with 403 Forbidden unless it allows them: ksps serve --allowed-origins ${page.origin}`;
  }

  // src/driver.ts
  var CLOSE_TIMEOUT_MS = 2e3;
  var clock = () => typeof performance === "object" ? performance.now() : Date.now();
  var SessionDriver = class {
    constructor(options, openTransport, onEvent, newAckId) {
      this.options = options;
      this.openTransport = openTransport;
      this.onEvent = onEvent;
      /** Bumped whenever the core is done with a connection: late callbacks of older ones are ignored. */
      this.generation = 0;
      this.probes = 0;
      let rids = 0;
      this.tokens = new TokenSource(options.token, options.getToken);
      this.core = new ClientSession(
        {
          id: options.id,
          url: options.url,
          autorestart: options.autoRestart,
          reconnect: options.reconnect,
          reconnectInitialDelay: options.reconnectInitialDelay,
          reconnectFactor: options.reconnectFactor,
          reconnectMaxDelay: options.reconnectMaxDelay,
          offlineQueueSize: options.offlineQueueSize,
          offlineQueuePolicy: options.offlineQueuePolicy,
          connectTimeout: options.connectTimeout,
          token: options.token,
          refreshableToken: this.tokens.refreshable
        },
        { random: Math.random, newRid: () => String(++rids), newAckId }
      );
    }
    /**
     * Feeds one input and carries out the outputs, in order; returns them. Re-entrant: a callback run by an
     * output may feed more (the core's state is settled before any output runs). Throws what encoding a
     * frame threw (data JSON cannot carry), after the other outputs ran.
     */
    input(input) {
      const outputs = this.core.handle(input, clock());
      let failure;
      for (const output of outputs) {
        try {
          this.perform(output, input);
        } catch (error) {
          failure ?? (failure = error);
        }
      }
      this.armTimer();
      if (failure !== void 0) {
        throw failure;
      }
      return outputs;
    }
    /** Closes for good; resolves once the socket is closed (or dropped after {@link CLOSE_TIMEOUT_MS}). */
    close() {
      if (!this.core.closed) {
        this.input({ type: "close" });
      }
      return this.closing ?? Promise.resolve();
    }
    perform(output, cause) {
      switch (output.type) {
        case "open":
          return this.open(output.url);
        case "send":
          return this.transport?.send(JSON.stringify(output.frame));
        case "close":
          return this.closeTransport(output.code, output.reason);
        case "event":
          return this.event(output.event, cause);
      }
    }
    open(url) {
      const generation = ++this.generation;
      const current = () => generation === this.generation;
      let opened = false;
      this.tokens.fetch().then(
        (token) => {
          if (!current()) return;
          try {
            this.transport = this.openTransport(url, {
              onOpen: () => {
                opened = true;
                if (current()) this.input({ type: "opened", token });
              },
              onMessage: (text) => current() && this.received(text),
              onClose: (code, reason, detail) => current() && this.lost(code, reason, detail || (opened ? "" : upgradeFailureHint(url) ?? ""))
            });
          } catch (error) {
            this.input({ type: "lost", code: null, reason: `invalid URL ${url}: ${error.message}` });
          }
        },
        (error) => current() && this.input({ type: "lost", code: null, reason: `GetToken failed: ${errorMessage(error)}` })
      );
    }
    received(text) {
      this.liveness?.received();
      let values;
      try {
        values = parseServerMessage(text);
      } catch (error) {
        this.onEvent({ type: "error", error: "ProtocolError" }, void 0, error.message);
        return;
      }
      for (const frame of values) {
        this.input({ type: "frame", frame });
      }
    }
    lost(code, reason, detail) {
      this.detach();
      const noFrame = code === 1005 || code === 1006;
      this.input(noFrame ? { type: "lost", code: null, reason: detail || null } : { type: "lost", code, reason });
    }
    /** The core is done with the connection: close it, and resolve `Close()` once it is gone. */
    closeTransport(code, reason) {
      const transport = this.transport;
      this.detach();
      if (transport === void 0) {
        return;
      }
      this.closing = new Promise((resolve) => {
        const dropped = setTimeout(() => {
          transport.abort();
          resolve();
        }, CLOSE_TIMEOUT_MS);
        transport.onceClosed(() => {
          clearTimeout(dropped);
          resolve();
        });
      });
      transport.close(code, reason);
    }
    detach() {
      this.generation += 1;
      this.transport = void 0;
      this.liveness?.stop();
      this.liveness = void 0;
      clearTimeout(this.refreshTimer);
    }
    event(event, cause) {
      if (event.type === "connected") {
        this.watchLiveness();
        this.scheduleRefresh();
      }
      this.onEvent(event, cause, this.core.detail);
    }
    watchLiveness() {
      const transport = this.transport;
      if (this.options.keepaliveInterval <= 0 || transport === void 0) {
        return;
      }
      this.liveness = new Liveness(
        this.options.keepaliveInterval,
        this.options.keepaliveTimeout,
        clock,
        () => transport.send(JSON.stringify({ action: ClientAction.Ping, from: this.options.id, rid: `k${++this.probes}` })),
        (silent) => {
          this.detach();
          transport.abort();
          this.input({ type: "lost", code: null, reason: `keepalive timeout: nothing received for ${silent} ms` });
        }
      );
    }
    /** Plans the in-place refresh of the current token shortly before its `exp` (GetToken only, spec §10). */
    scheduleRefresh() {
      clearTimeout(this.refreshTimer);
      const delay = this.tokens.refreshIn();
      if (delay !== void 0) {
        this.refreshTimer = setTimeout(() => void this.refresh(), delay);
      }
    }
    async refresh() {
      const generation = this.generation;
      const before = this.tokens.expiry();
      let token;
      try {
        token = await this.tokens.fetch();
      } catch (error) {
        this.onEvent({ type: "error", error: "ConnectionFailed" }, void 0, `GetToken failed while refreshing the token: ${errorMessage(error)}`);
        return;
      }
      const after = this.tokens.expiry();
      if (generation !== this.generation || !this.core.ready || before !== void 0 && (after === void 0 || after <= before)) {
        return;
      }
      this.input({ type: "refresh_token", token });
      this.scheduleRefresh();
    }
    armTimer() {
      clearTimeout(this.timer);
      this.timer = void 0;
      const deadline = this.core.deadline;
      if (deadline !== null) {
        this.timer = setTimeout(() => this.input({ type: "timer" }), Math.max(0, deadline - clock()));
      }
    }
  };
  function errorMessage(error) {
    return error instanceof Error ? error.message : String(error);
  }

  // src/dispatch.ts
  var CallbackDispatcher = class {
    constructor(sendAck, reportError) {
      this.sendAck = sendAck;
      this.reportError = reportError;
    }
    /** Runs the callback for one delivery now, or after the ones still running for its subscription. */
    deliver(subscription, message, ackId) {
      if (subscription.backlog !== void 0) {
        subscription.backlog.push([message, ackId]);
        return;
      }
      const pending = this.run(subscription, message, ackId);
      if (pending !== void 0) {
        subscription.backlog = [];
        void this.drain(subscription, pending, ackId);
      }
    }
    /** Answers a `publish_ack` for a topic this client does not follow (spec §6.1). */
    noSubscriber(ackId) {
      if (ackId !== "") {
        this.sendAck(ackId, false, NO_SUBSCRIBER);
      }
    }
    /** Runs one callback; returns its promise when it returned one, after answering the ack otherwise. */
    run(subscription, message, ackId) {
      let result;
      try {
        result = subscription.callback(message, subscription.unsub);
      } catch (error) {
        this.failed(subscription, ackId, error);
        return void 0;
      }
      if (isThenable(result)) {
        return result;
      }
      this.succeeded(ackId);
      return void 0;
    }
    async drain(subscription, first, firstAckId) {
      const backlog = subscription.backlog ?? [];
      let pending = first;
      let ackId = firstAckId;
      try {
        while (pending !== void 0) {
          try {
            await pending;
            this.succeeded(ackId);
          } catch (error) {
            this.failed(subscription, ackId, error);
          }
          pending = void 0;
          let next;
          while (pending === void 0 && (next = backlog.shift()) !== void 0) {
            [, ackId] = next;
            if (subscription.active) {
              pending = this.run(subscription, next[0], ackId);
            } else {
              this.noSubscriber(ackId);
            }
          }
        }
      } finally {
        subscription.backlog = void 0;
      }
    }
    succeeded(ackId) {
      if (ackId !== "") {
        this.sendAck(ackId, true, "");
      }
    }
    failed(subscription, ackId, error) {
      if (ackId !== "") {
        this.sendAck(ackId, false, errorText(error));
      }
      this.reportError(new CallbackError(subscription.topic, error));
    }
  };
  function isThenable(value) {
    return (typeof value === "object" || typeof value === "function") && value !== null && typeof value.then === "function";
  }

  // src/events.ts
  var ClientEvents = class {
    constructor(options) {
      this.listeners = {
        connect: /* @__PURE__ */ new Set(),
        disconnect: /* @__PURE__ */ new Set(),
        error: /* @__PURE__ */ new Set(),
        close: /* @__PURE__ */ new Set()
      };
      const onConnect = options.OnConnect ?? options.OnOpen;
      if (onConnect !== void 0) {
        this.on("connect", onConnect);
      }
      if (options.OnDisconnect !== void 0) {
        this.on("disconnect", options.OnDisconnect);
      }
      if (options.OnError !== void 0) {
        this.on("error", options.OnError);
      }
      if (options.OnClose !== void 0) {
        this.on("close", options.OnClose);
      }
    }
    /** Adds a listener; returns the function that removes it. */
    on(event, listener) {
      this.listeners[event].add(listener);
      return () => this.off(event, listener);
    }
    /** Removes a listener. */
    off(event, listener) {
      this.listeners[event].delete(listener);
    }
    /** Calls the listeners of an event, in the order they were added. */
    emit(event, ...args) {
      const listeners = [...this.listeners[event]];
      if (listeners.length === 0 && event === "error") {
        console.warn("ksps client:", args[0].message);
      }
      for (const listener of listeners) {
        try {
          listener(...args);
        } catch (error) {
          console.error(`ksps client: a ${event} listener threw`, error);
        }
      }
    }
  };

  // src/handles.ts
  var HandleTable = class {
    constructor() {
      this.subscribes = /* @__PURE__ */ new Map();
      this.presences = /* @__PURE__ */ new Map();
      this.histories = /* @__PURE__ */ new Map();
      this.acks = /* @__PURE__ */ new Map();
      this.counter = 0;
    }
    /** A fresh handle name. */
    newHandle(prefix) {
      this.counter += 1;
      return `${prefix}${this.counter}`;
    }
    addSubscribe(handle, pending) {
      this.subscribes.set(handle, pending);
    }
    /** Resolves a Subscribe now, keeping its handle: a later refusal (of the restore) still reaches it. */
    resolveNow(handle) {
      this.subscribes.get(handle)?.resolve();
    }
    addPresence(handle, pending) {
      this.presences.set(handle, pending);
    }
    addHistory(handle, pending) {
      this.histories.set(handle, pending);
    }
    addAck(handle, ack) {
      this.acks.set(handle, ack);
    }
    /** Settles what a handle event concerns; `cause` is the input that produced it. */
    handleEvent(event, cause, detail) {
      switch (event.type) {
        case "subscribed":
        case "unsubscribed":
          this.takeSubscribe(event.handle)?.resolve();
          return;
        case "refused":
          return this.refused(event, detail);
        case "ack_response": {
          const response = { ack_id: this.acks.get(event.handle)?.id ?? "", client_id: event.client_id, success: event.success };
          this.acks.get(event.handle)?._onResponse(event.error === void 0 ? response : { ...response, error: event.error });
          return;
        }
        case "status":
          this.acks.get(event.handle)?._onStatus(event.status);
          return;
        case "presence": {
          const { count, ids, truncated } = event;
          this.presences.get(event.handle)?.resolve({ count, ids, truncated });
          this.presences.delete(event.handle);
          return;
        }
        case "history": {
          const { publications, offset, epoch } = event;
          this.histories.get(event.handle)?.resolve({ publications: publications.map((entry) => ({ ...entry })), offset, epoch });
          this.histories.delete(event.handle);
          return;
        }
        case "ack_done": {
          const ack = this.acks.get(event.handle);
          this.acks.delete(event.handle);
          if (cause?.type === "frame" && cause.frame.action === ServerAction.AckResponse) {
            ack?._onFinal();
          }
          ack?._onDone();
          return;
        }
      }
    }
    /** The client closed: `closed` is final, every pending handle ends (a pending Subscribe resolves). */
    closeAll() {
      for (const pending of this.subscribes.values()) {
        pending.resolve();
      }
      this.subscribes.clear();
      for (const ack of this.acks.values()) {
        ack._onDone();
      }
      this.acks.clear();
      for (const pending of this.presences.values()) {
        pending.reject(new NotConnected("the client was closed before the server answered"));
      }
      this.presences.clear();
      for (const pending of this.histories.values()) {
        pending.reject(new ClientClosed("the client was closed before the server answered"));
      }
      this.histories.clear();
    }
    refused(event, detail) {
      const presence2 = this.presences.get(event.handle);
      this.presences.delete(event.handle);
      const history2 = this.histories.get(event.handle);
      this.histories.delete(event.handle);
      if (event.error === "NotConnected" || event.error === "ClientClosed") {
        const error = event.error === "NotConnected" ? new NotConnected(detail) : new ClientClosed(detail);
        this.acks.get(event.handle)?._onStatusRefused(error);
        presence2?.reject(error);
        history2?.reject(error);
        if (event.error === "ClientClosed") this.takeSubscribe(event.handle)?.resolve();
        return;
      }
      const text = `the server answered: ${detail}`;
      presence2?.reject(new ServerErrorReply(text, { code: event.code, topic: presence2.topic }));
      history2?.reject(new ServerErrorReply(text, { code: event.code, topic: history2.topic }));
      this.takeSubscribe(event.handle)?.reject(new ServerErrorReply(text, { code: event.code }));
      const ack = this.acks.get(event.handle);
      ack?._onRefused(new ServerErrorReply(text, { code: event.code, ackId: ack.id }));
    }
    takeSubscribe(handle) {
      const pending = this.subscribes.get(handle);
      this.subscribes.delete(handle);
      return pending;
    }
  };

  // src/history.ts
  function checkPosition(what, value) {
    if (value === void 0) {
      return void 0;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(`${what} must be a stream position {offset, epoch}, got ${describe(value)}`);
    }
    const { offset, epoch } = value;
    if (!isCount(offset)) {
      throw new TypeError(`${what}.offset must be an integer >= 0, got ${describe(offset)}`);
    }
    if (typeof epoch !== "string") {
      throw new TypeError(`${what}.epoch must be a string, got ${describe(epoch)}`);
    }
    return { offset, epoch };
  }
  function checkHistoryOptions(value) {
    if (value === void 0) {
      return {};
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(`the History options must be an object {since, limit, reverse}, got ${describe(value)}`);
    }
    const options = value;
    const checked = {};
    const since = checkPosition("since", options["since"]);
    if (since !== void 0) checked.since = since;
    const limit = options["limit"];
    if (limit !== void 0) {
      if (!isCount(limit)) {
        throw new TypeError(`limit must be an integer >= 0, got ${describe(limit)}`);
      }
      checked.limit = limit;
    }
    const reverse = options["reverse"];
    if (reverse !== void 0) {
      if (typeof reverse !== "boolean") {
        throw new TypeError(`reverse must be a boolean, got ${describe(reverse)}`);
      }
      checked.reverse = reverse;
    }
    return checked;
  }
  function isCount(value) {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  }
  function describe(value) {
    if (typeof value === "string") return JSON.stringify(value);
    if (value === null || typeof value !== "object") return String(value);
    return Array.isArray(value) ? "an array" : "an object";
  }

  // src/options.ts
  function defaultClientId() {
    return `client_${Date.now()}_${randomBase36(9)}`;
  }
  function resolveOptions(options) {
    if ("AutoRestart" in options) {
      throw new TypeError("the option is spelled Autorestart (as in every ksps client), not AutoRestart");
    }
    const pageHost = globalThis.location;
    const address = options.Address ?? pageHost?.host ?? "";
    if (address === "") {
      throw new TypeError('the Address option is required, e.g. Address: "localhost:9313"');
    }
    const secure = options.Secure ?? (options.Address === void 0 && pageHost?.protocol === "https:");
    const resolved = {
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
      connectTimeout: options.ConnectTimeout ?? ClientDefaults.connectTimeout
    };
    check(resolved);
    checkUrl(resolved.url);
    return resolved;
  }
  function check(options) {
    const nonNegative = [
      "reconnectInitialDelay",
      "reconnectMaxDelay",
      "offlineQueueSize",
      "keepaliveInterval",
      "keepaliveTimeout"
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
  function checkUrl(url) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`invalid server URL ${url}: check the Address and Path options`);
    }
    if (parsed.hash !== "") {
      throw new TypeError(`invalid server URL ${url}: a WebSocket URL cannot have a #fragment`);
    }
  }
  function randomBase36(length) {
    const bytes = new Uint8Array(length);
    const crypto = globalThis.crypto;
    if (crypto !== void 0) {
      crypto.getRandomValues(bytes);
    } else {
      bytes.forEach((_, index) => bytes[index] = Math.floor(Math.random() * 256));
    }
    return Array.from(bytes, (byte) => (byte % 36).toString(36)).join("");
  }

  // src/transport.ts
  var decoder = typeof TextDecoder === "function" ? new TextDecoder() : void 0;
  function webSocketOpener(WebSocketClass) {
    return (url, handlers) => {
      const socket = new WebSocketClass(url);
      socket.binaryType = "arraybuffer";
      let detail = "";
      let closed = false;
      const whenClosed = [];
      const finish = (code, reason) => {
        if (!closed) {
          closed = true;
          handlers.onClose(code, reason, detail);
          for (const callback of whenClosed.splice(0)) callback();
        }
      };
      socket.onopen = () => handlers.onOpen();
      socket.onmessage = (event) => {
        const text = toText(event.data);
        if (text !== void 0) {
          handlers.onMessage(text);
        }
      };
      socket.onerror = (event) => {
        detail = typeof event.message === "string" ? event.message : "";
      };
      socket.onclose = (event) => finish(event.code, event.reason);
      return {
        send: (text) => socket.send(text),
        close: (code, reason) => {
          try {
            socket.close(code, reason);
          } catch {
            socket.close();
          }
        },
        abort: () => {
          if (typeof socket.terminate === "function") {
            socket.terminate();
          } else {
            socket.close();
          }
          finish(1006, "");
        },
        onceClosed: (callback) => closed ? callback() : void whenClosed.push(callback)
      };
    };
  }
  function toText(data) {
    if (typeof data === "string") {
      return data;
    }
    if (decoder === void 0) {
      return void 0;
    }
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      return decoder.decode(data);
    }
    return void 0;
  }

  // src/platform.ts
  var defaultWebSocket;
  function defaultWebSocketOpener() {
    const WebSocketClass = defaultWebSocket ?? globalThis.WebSocket;
    if (WebSocketClass === void 0) {
      throw new TypeError("no WebSocket implementation found: pass one as the WebSocket option");
    }
    return webSocketOpener(WebSocketClass);
  }

  // src/subscriptions.ts
  var Subscription = class {
    constructor(topic, callback, unsubscribe2) {
      this.topic = topic;
      this.callback = callback;
      this.active = true;
      this.unsub = () => unsubscribe2(this);
    }
  };
  var SubscriptionRegistry = class {
    constructor() {
      this.byTopic = /* @__PURE__ */ new Map();
    }
    /** Makes `subscription` the topic's current one; the one it replaces stops receiving. */
    add(subscription) {
      const old = this.byTopic.get(subscription.topic);
      if (old !== void 0) {
        old.active = false;
      }
      this.byTopic.set(subscription.topic, subscription);
    }
    /** The OnId handler, as a subscription: its deliveries are ordered and acknowledged like a topic's. */
    get idHandler() {
      return this.direct;
    }
    /** Sets or (with undefined) removes the OnId handler. */
    setIdHandler(handler) {
      if (this.direct !== void 0) {
        this.direct.active = false;
      }
      this.direct = handler === void 0 ? void 0 : new Subscription("", (message) => handler(message), () => {
      });
    }
    /** Removes `subscription` if it is still the topic's current one; true when it was. */
    remove(subscription) {
      subscription.active = false;
      if (this.byTopic.get(subscription.topic) === subscription) {
        this.byTopic.delete(subscription.topic);
        return true;
      }
      return false;
    }
    /** Removes the topic's subscription, whichever it is; true when there was one. */
    removeTopic(topic) {
      const subscription = this.byTopic.get(topic);
      if (subscription === void 0) {
        return false;
      }
      return this.remove(subscription);
    }
    get(topic) {
      return this.byTopic.get(topic);
    }
    /** Every subscribed topic, restored after each reconnection. */
    topics() {
      return [...this.byTopic.keys()];
    }
    /** Forgets every subscription and the OnId handler (the client is closed). */
    clear() {
      for (const subscription of this.byTopic.values()) {
        subscription.active = false;
      }
      this.byTopic.clear();
      this.setIdHandler(void 0);
    }
  };

  // src/client.ts
  var DEFAULT_ACK_TIMEOUT_MS = ClientDefaults.ackTimeout;
  var Client = class _Client {
    constructor(options, opener, raw) {
      this.subscriptions = new SubscriptionRegistry();
      this.handles = new HandleTable();
      this.ackCounter = 0;
      this.options = options;
      this.events = new ClientEvents(raw);
      this.hooks = { OnJoin: raw.OnJoin, OnLeave: raw.OnLeave, OnSubscribed: raw.OnSubscribed };
      this.driver = new SessionDriver(
        options,
        opener,
        (event, cause, detail) => this.onCoreEvent(event, cause, detail),
        () => `client_ack_${options.id}_${++this.ackCounter}`
      );
      this.dispatcher = new CallbackDispatcher(
        (ackId, success, error) => this.driver.input(error === "" ? { type: "ack", ack_id: ackId, success } : { type: "ack", ack_id: ackId, success, error }),
        (error) => this.reportError(error)
      );
      this.subscriptions.setIdHandler(raw.OnId);
    }
    /**
     * Connects to a ksps server. Resolves once the client is registered. When the first connection fails,
     * rejects with {@link ConnectionFailed} (or {@link AuthError}), unless `Autorestart` is set: then it
     * resolves after the first failed attempt with a client that keeps trying in the background.
     */
    static async NewClient(options = {}) {
      if (!options.Id && options.Token === void 0 && options.GetToken !== void 0) {
        options = { ...options, Id: tokenSubject(await options.GetToken()) || defaultClientId() };
      }
      const opener = options.WebSocket !== void 0 ? webSocketOpener(options.WebSocket) : defaultWebSocketOpener();
      const client = new _Client(resolveOptions(options), opener, options);
      await new Promise((resolve, reject) => {
        client.firstAttempt = { resolve, reject };
        client.driver.input({ type: "start" });
      });
      return client;
    }
    /** Same as {@link Client.NewClient}. */
    static newClient(options = {}) {
      return _Client.NewClient(options);
    }
    /** The client's ID. */
    get Id() {
      return this.options.id;
    }
    /** Same as {@link Client.Id}. */
    get id() {
      return this.options.id;
    }
    /** True while connected and registered. */
    get IsConnected() {
      return this.driver.core.ready;
    }
    /** Same as {@link Client.IsConnected}. */
    get isConnected() {
      return this.driver.core.ready;
    }
    /**
     * Subscribes to a topic: `callback({data, from, offset?}, unsub)` runs for each publication. Subscribing
     * again to the same topic replaces the callback. Works while offline too: the subscription is made on the
     * next connection. Returns the function that ends the subscription; awaiting it waits for the server's
     * `subscribed` and throws {@link ServerErrorReply} when the server refused it (see {@link SubscribeResult}).
     * On a topic with history, `since` recovers what was published after that position (spec §14.3).
     */
    Subscribe(topic, callback, options = {}) {
      this.checkOpen();
      checkName("topic", topic);
      if (typeof callback !== "function") {
        throw new TypeError("the callback must be a function");
      }
      const { joinLeave, since } = checkSubscribeOptions(options);
      const subscription = new Subscription(topic, callback, (ended) => this.endSubscription(ended));
      this.subscriptions.add(subscription);
      const unsub = () => subscription.unsub();
      let awaited = false;
      const handle = this.handles.newHandle("s");
      let settled = false;
      const confirmed = new Promise((resolve, reject) => {
        this.handles.addSubscribe(handle, {
          resolve: () => {
            settled = true;
            resolve(unsub);
          },
          reject: (refusal) => {
            const error = new ServerErrorReply(refusal.message, { code: refusal.code, topic });
            this.subscriptions.remove(subscription);
            if (!awaited || settled) {
              this.reportError(error);
            }
            settled = true;
            reject(error);
          }
        });
      });
      confirmed.catch(() => {
      });
      const offline = !this.driver.core.registered;
      this.driver.input(since === void 0 ? { type: "subscribe", topic, handle, join_leave: joinLeave } : { type: "subscribe", topic, handle, join_leave: joinLeave, since });
      if (offline) {
        this.handles.resolveNow(handle);
      }
      const result = (() => subscription.unsub());
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
    Presence(topic) {
      this.checkOpen();
      checkName("topic", topic);
      const handle = this.handles.newHandle("p");
      const answer = new Promise((resolve, reject) => this.handles.addPresence(handle, { topic, resolve, reject }));
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
    History(topic, options = {}) {
      this.checkOpen();
      checkName("topic", topic);
      const { since, limit, reverse } = checkHistoryOptions(options);
      const handle = this.handles.newHandle("h");
      const answer = new Promise((resolve, reject) => this.handles.addHistory(handle, { topic, resolve, reject }));
      this.driver.input({
        type: "history",
        topic,
        handle,
        ...since === void 0 ? {} : { since },
        ...limit === void 0 ? {} : { limit },
        ...reverse === true ? { reverse } : {}
      });
      return answer;
    }
    /**
     * The position the client remembers for a subscribed topic with history (spec §14.2): the epoch of its
     * last `subscribed` and the offset of the latest publication received since; undefined for a topic not
     * subscribed or without history. This is where the next reconnection recovers from.
     */
    Position(topic) {
      checkName("topic", topic);
      return this.driver.core.position(topic);
    }
    /** Ends the topic's subscription; its callback stops at once (spec §4.1). */
    Unsubscribe(topic) {
      this.checkOpen();
      checkName("topic", topic);
      this.subscriptions.removeTopic(topic);
      this.driver.input({ type: "unsubscribe", topic });
    }
    /** Publishes `data` (any JSON value) to every subscriber of `topic` (spec §4.2). */
    Publish(topic, data) {
      this.checkOpen();
      checkName("topic", topic);
      this.publishing({ type: "publish", topic, data });
    }
    /** Sends `data` to one client, or to the server's OnID handler when `targetId` is the server's ID (spec §5). */
    PublishToID(targetId, data) {
      this.checkOpen();
      checkName("target ID", targetId);
      this.publishing({ type: "publish_to_id", to: targetId, data });
    }
    /** Asks the server to relay `data` to the server at `addrWithPath` (spec §8.1). */
    PublishToServer(addrWithPath, data, secure = false) {
      this.checkOpen();
      checkName("server address", addrWithPath);
      this.publishing({ type: "publish_to_server", address: addrWithPath, data, secure });
    }
    /**
     * Publishes with acknowledgement: every subscriber answers once its callback finished. The server
     * waits at most `timeoutMs` (default 30000) for them (spec §6.1-§6.3). Returns the handle at once.
     */
    PublishWithAck(topic, data, timeoutMs = DEFAULT_ACK_TIMEOUT_MS) {
      this.checkOpen();
      checkName("topic", topic);
      const timeout = checkTimeout(timeoutMs);
      return this.startAck((handle) => ({ type: "publish_with_ack", topic, data, timeout, handle }), timeout);
    }
    /** Sends `data` to one client (its OnId handler) with acknowledgement (spec §6.4). */
    PublishToIDWithAck(targetId, data, timeoutMs = DEFAULT_ACK_TIMEOUT_MS) {
      this.checkOpen();
      checkName("target ID", targetId);
      const timeout = checkTimeout(timeoutMs);
      return this.startAck((handle) => ({ type: "publish_to_id_with_ack", to: targetId, data, timeout, handle }), timeout);
    }
    /** Sets (or removes, with undefined) the handler of direct messages to this client. */
    OnId(handler) {
      this.subscriptions.setIdHandler(handler);
    }
    /** Adds a listener called when the client is closed for good. */
    OnClose(listener) {
      this.events.on("close", listener);
    }
    /** Adds an event listener (`connect`, `disconnect`, `error`, `close`); returns the function removing it. */
    on(event, listener) {
      return this.events.on(event, listener);
    }
    /** Removes an event listener. */
    off(event, listener) {
      this.events.off(event, listener);
    }
    /**
     * Closes the client for good: no reconnection, pending ack waits resolve with what arrived, queued
     * publications are dropped. Resolves once the connection is closed. Calling it again does nothing.
     */
    async Close() {
      await this.driver.close();
    }
    // -- internals -------------------------------------------------------------------------------------
    /** Feeds a publication; under the `"raise"` policy a publication that did not fit the queue throws. */
    publishing(input) {
      const outputs = this.driver.input(input);
      if (this.options.offlineQueuePolicy === "raise" && outputs.some(isOverflow)) {
        throw new OfflineQueueFull(`offline queue full (${this.options.offlineQueueSize} publications); not sent`);
      }
      return outputs;
    }
    startAck(input, timeout) {
      const handle = this.handles.newHandle("a");
      const ack = new ClientAck(handle, `client_ack_${this.options.id}_${this.ackCounter + 1}`, timeout, {
        cancel: (name) => this.driver.input({ type: "cancel", ack: name }),
        fetchStatus: (name) => this.driver.input({ type: "fetch_status", ack: name })
      });
      this.handles.addAck(handle, ack);
      this.publishing(input(handle));
      return ack;
    }
    onCoreEvent(event, cause, detail) {
      switch (event.type) {
        case "connected":
          this.settleFirstAttempt();
          return this.events.emit("connect");
        case "disconnected":
          return this.events.emit("disconnect", event.code, event.reason);
        case "delivery": {
          const message = { data: event.data, from: event.from };
          if (event.offset !== void 0) message.offset = event.offset;
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
            `offline queue full (${this.options.offlineQueueSize} publications); ${this.options.offlineQueuePolicy === "drop_oldest" ? "the oldest queued publication was dropped" : "the new publication was dropped"}`
          ));
        case "reconnecting":
          return this.settleFirstAttempt(void 0, true);
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
    subscribed(event) {
      const { topic, recovering, recovered, offset, epoch } = event;
      try {
        this.hooks.OnSubscribed?.(topic, offset !== void 0 && epoch !== void 0 ? { position: { offset, epoch }, recovering, recovered } : { recovering, recovered });
      } catch (error) {
        this.reportError(new CallbackError(topic, error));
      }
    }
    /** OnJoin/OnLeave (spec §15.3); what the hook throws goes to OnError. */
    member(hook, topic, id) {
      try {
        hook?.(topic, id);
      } catch (error) {
        this.reportError(new CallbackError(topic, error));
      }
    }
    deliver(subscription, message, ackId = "") {
      if (subscription === void 0) {
        if (ackId !== "") {
          this.driver.input({ type: "ack", ack_id: ackId, success: false, error: NO_SUBSCRIBER });
        }
        return;
      }
      this.dispatcher.deliver(subscription, message, ackId);
    }
    /** An error no caller sees as an exception, except the first attempt's, which rejects NewClient. */
    failed(error) {
      if (this.firstAttempt !== void 0 && (error instanceof ConnectionFailed || error instanceof AuthError)) {
        this.firstAttempt.lastError = error;
        return;
      }
      this.reportError(error);
    }
    reportError(error) {
      this.events.emit("error", error);
    }
    /** Resolves NewClient; after a failed first attempt with Autorestart, its error goes to OnError then. */
    settleFirstAttempt(error, retrying = false) {
      const first = this.firstAttempt;
      this.firstAttempt = void 0;
      if (first === void 0) {
        return;
      }
      if (error !== void 0) {
        first.reject(error);
        return;
      }
      if (retrying && first.lastError !== void 0) {
        this.reportError(first.lastError);
      }
      first.resolve();
    }
    closed() {
      this.settleFirstAttempt(this.firstAttempt?.lastError ?? new ClientClosed("the client was closed before it connected"));
      this.handles.closeAll();
      this.subscriptions.clear();
      this.events.emit("close");
    }
    endSubscription(subscription) {
      if (this.subscriptions.remove(subscription) && !this.driver.core.closed) {
        this.driver.input({ type: "unsubscribe", topic: subscription.topic });
      }
    }
    checkOpen() {
      if (this.driver.core.closed) {
        throw new ClientClosed("the client is closed; create a new one with Client.NewClient");
      }
    }
  };
  function coreError(event, detail) {
    switch (event.error) {
      case "ConnectionFailed":
        return typeof event.code === "string" && event.code !== "" ? new ConnectionFailed(detail, { cause: new ServerErrorReply(detail, { code: event.code }) }) : new ConnectionFailed(detail);
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
  function isOverflow(output) {
    return output.type === "event" && output.event.type === "queue_overflow";
  }
  function checkName(what, value) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`the ${what} must be a non-empty string`);
    }
  }
  function checkSubscribeOptions(options) {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new TypeError("the Subscribe options must be an object {joinLeave, since}");
    }
    const { joinLeave, since } = options;
    if (joinLeave !== void 0 && typeof joinLeave !== "boolean") {
      throw new TypeError(`joinLeave must be a boolean, got ${typeof joinLeave}`);
    }
    return { joinLeave: joinLeave === true, since: checkPosition("since", since) };
  }
  function checkTimeout(timeoutMs) {
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(`the timeout must be a number of ms >= 0, got ${String(timeoutMs)}`);
    }
    return Math.round(timeoutMs);
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
    close: Client.prototype.Close
  });

  // src/exports.ts
  var NewClient = Client.NewClient;
  return __toCommonJS(browser_exports);
})();
