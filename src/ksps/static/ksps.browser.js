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

  // src/acks.ts
  var ACK_GRACE_MS = 500;
  var ClientAck = class {
    /** Handles are made by `Client.PublishWithAck` and `Client.PublishToIDWithAck`. */
    constructor(ackId, timeoutMs, owner) {
      this.responses = /* @__PURE__ */ new Map();
      this.complete = false;
      this.finished = false;
      this.wasCancelled = false;
      this.sent = false;
      this.id = ackId;
      this.timeout = timeoutMs;
      this.owner = owner;
      this.done = new Promise((resolve) => this.resolveDone = resolve);
      this.firstArrived = new Promise((resolve) => this.resolveFirstArrived = resolve);
      this.timer = setTimeout(() => this._finish(), timeoutMs + ACK_GRACE_MS);
    }
    // -- what the client feeds in ----------------------------------------------------------------------
    /** @internal The request went out on a connection. */
    _markSent() {
      this.sent = true;
    }
    /** @internal True once the request went out. */
    get _sent() {
      return this.sent;
    }
    /** @internal True once the handle ended. */
    get _finished() {
      return this.finished;
    }
    /** @internal One `ack_progress` (spec §6.3). */
    _onProgress(response) {
      if (this.finished) {
        return;
      }
      this.responses.set(response.client_id, response);
      if (this.first === void 0) {
        this.first = response;
        this.resolveFirstArrived();
      }
    }
    /** @internal The final `ack_response` (spec §6.2). */
    _onResponse(responses) {
      if (this.finished) {
        return;
      }
      for (const [clientId, response] of Object.entries(responses)) {
        this.responses.set(clientId, response);
        this.first ?? (this.first = response);
      }
      this.complete = true;
      this._finish();
    }
    /** @internal The server refused the request (an `error` frame with its ack ID, spec §11). */
    _fail(error) {
      if (!this.finished) {
        this.refusal = error;
        this._finish();
      }
    }
    /** @internal Ends the handle: every pending and later wait resolves at once. */
    _finish() {
      if (this.finished) {
        return;
      }
      this.finished = true;
      clearTimeout(this.timer);
      this.resolveDone();
      this.resolveFirstArrived();
      this.owner.forget(this.id);
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
     * Responder client ID -> answered yet, as the server sees it while the request runs (spec §6.5).
     * Once the request ended (or while disconnected) the answer comes from the responses received.
     */
    async GetStatus() {
      if (!this.finished && this.sent) {
        const status = await this.owner.queryStatus(this.id);
        if (status !== void 0) {
          return status;
        }
      }
      return Object.fromEntries([...this.responses.keys()].map((clientId) => [clientId, true]));
    }
    /** True when every expected responder has answered (the server's final answer has arrived). */
    async IsComplete() {
      if (this.finished) {
        return this.complete;
      }
      const status = await this.GetStatus();
      const values = Object.values(status);
      return this.complete || values.length > 0 && values.every(Boolean);
    }
    /** Stops waiting: pending and later waits resolve at once with what arrived; the server drops the request. */
    Cancel() {
      if (this.finished) {
        return;
      }
      this.wasCancelled = true;
      if (this.sent) {
        this.owner.cancelOnServer(this.id);
      }
      this._finish();
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
    /** Same as {@link ClientAck.Cancel}. */
    cancel() {
      this.Cancel();
    }
  };
  var AckTable = class {
    constructor(clientId) {
      this.clientId = clientId;
      this.pending = /* @__PURE__ */ new Map();
      this.counter = 0;
    }
    /** A fresh ack ID, in the original clients' format `client_ack_<id>_<n>`. */
    newId() {
      this.counter += 1;
      return `client_ack_${this.clientId}_${this.counter}`;
    }
    add(handle) {
      this.pending.set(handle.id, handle);
    }
    get(ackId) {
      return this.pending.get(ackId);
    }
    forget(ackId) {
      this.pending.delete(ackId);
    }
    /** Ends the handles whose request went out on the lost connection: the server forgot them. */
    connectionLost() {
      for (const handle of [...this.pending.values()]) {
        if (handle._sent) {
          handle._finish();
        }
      }
    }
    /** Ends every handle (the client is closing). */
    finishAll() {
      for (const handle of [...this.pending.values()]) {
        handle._finish();
      }
    }
  };

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
    Presence: "presence"
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

  // src/reconnect-policy.ts
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

  // src/protocol/codec.ts
  var FrameEncoder = class {
    constructor(clientId) {
      this.clientId = clientId;
    }
    /**
     * Registration, the liveness probe of an open connection (spec §3.1), and the in-place refresh of the
     * token (spec §10). `token` and `rid` are left out when empty.
     */
    ping(token = "", rid = "") {
      return this.encode(withOptional({ action: ClientAction.Ping }, token, rid));
    }
    /** `rid` matches the server's refusal to this request (spec §11). */
    subscribe(topic, rid = "") {
      return this.encode(withOptional({ action: ClientAction.Subscribe, topic }, "", rid));
    }
    unsubscribe(topic, rid = "") {
      return this.encode(withOptional({ action: ClientAction.Unsubscribe, topic }, "", rid));
    }
    publish(topic, data) {
      return this.encode({ action: ClientAction.Publish, topic, data });
    }
    /** A direct message to one client, or to the server's OnID handler (spec §5.1). */
    direct(targetId, data) {
      return this.encode({ action: ClientAction.DirectMessage, to: targetId, data });
    }
    /** Publish with acknowledgement; always asks for `ack_progress` frames (spec §6.1-§6.3). */
    publishWithAck(topic, data, ackId, timeoutMs) {
      return this.encode({
        action: ClientAction.PublishWithAck,
        topic,
        data,
        ack_id: ackId,
        timeout: timeoutMs,
        progress: true
      });
    }
    /** A direct message with acknowledgement (spec §6.4). */
    publishToIdWithAck(targetId, data, ackId, timeoutMs) {
      return this.encode({
        action: ClientAction.PublishToIdWithAck,
        to: targetId,
        data,
        ack_id: ackId,
        timeout: timeoutMs,
        progress: true
      });
    }
    /** A subscriber's answer to a `publish_ack` (spec §6.1). */
    ack(serverAckId, success, error) {
      const body = { ack_id: serverAckId, client_id: this.clientId, success };
      if (error !== "") {
        body.error = error;
      }
      return this.encode({ action: ClientAction.Ack, ack_id: serverAckId, data: body });
    }
    getAckStatus(ackId) {
      return this.encode({ action: ClientAction.GetAckStatus, ack_id: ackId });
    }
    cancelAck(ackId) {
      return this.encode({ action: ClientAction.CancelAck, ack_id: ackId });
    }
    /** Ask the server to relay `data` to another server (spec §8.1). */
    publishToServer(address, data, secure) {
      return this.encode({ action: ClientAction.PublishToServer, to: address, data, status: { is_secure: secure } });
    }
    encode(frame) {
      frame["from"] = this.clientId;
      return JSON.stringify(frame);
    }
  };
  function withOptional(frame, token, rid) {
    if (token !== "") {
      frame["token"] = token;
    }
    if (rid !== "") {
      frame["rid"] = rid;
    }
    return frame;
  }
  function decodeServerFrames(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ProtocolError(`invalid JSON from the server: ${error.message}`, { cause: error });
    }
    return Array.isArray(value) ? value.map(checkFrame) : [checkFrame(value)];
  }
  function unwrapDelivery(frame) {
    const outer = frame.data;
    if (isObject(outer) && "data" in outer) {
      const nestedFrom = typeof outer["from"] === "string" ? outer["from"] : "";
      return { data: outer["data"], from: frame.from ?? nestedFrom };
    }
    return { data: outer ?? null, from: frame.from ?? "" };
  }
  function directMessage(frame) {
    return { data: frame.data ?? null, from: frame.from ?? "" };
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
    const responses = readResponses(value["responses"]);
    if (responses !== void 0) {
      frame.responses = responses;
    }
    return frame;
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

  // src/session.ts
  var now = () => typeof performance === "object" ? performance.now() : Date.now();
  var Session = class {
    /** Opens the transport at once; throws when the URL is invalid. */
    constructor(openTransport, url, encoder, timing, listener, token = "") {
      this.encoder = encoder;
      this.timing = timing;
      this.listener = listener;
      this.token = token;
      this.phase = "opening";
      this.pongs = [];
      this.lastReceivedAt = now();
      /** The `rid` of the registration and of the token refresh in flight (spec §11). */
      this.registerRid = "";
      this.refreshRid = "";
      this.ridCounter = 0;
      this.transport = openTransport(url, {
        onOpen: () => this.opened(),
        onMessage: (text) => this.received(text),
        onClose: (code, reason, detail) => this.closed(code, reason, detail)
      });
      this.connectTimer = setTimeout(
        () => this.drop(`connection attempt timed out after ${timing.connectTimeout} ms`),
        timing.connectTimeout
      );
    }
    /** True once registered: frames sent now follow the restoring frames on the same connection. */
    get canSend() {
      return this.phase === "restoring" || this.phase === "ready";
    }
    /** Sends one frame; returns false when the session cannot send (not registered yet, or ended). */
    send(text) {
      if (!this.canSend) {
        return false;
      }
      try {
        this.transport.send(text);
        return true;
      } catch {
        return false;
      }
    }
    /** Closes the connection with a closing handshake; `ended` follows (at most 1 s later). */
    close(code, reason) {
      if (this.phase === "ended") {
        return;
      }
      this.transport.close(code, reason);
      this.closeTimer = setTimeout(() => this.drop("closing handshake timed out"), 1e3);
    }
    /** Drops the connection at once; `ended` is called before this returns. */
    drop(reason) {
      if (this.phase === "ended") {
        return;
      }
      this.end({ code: null, reason, ...this.progress() });
      this.transport.abort();
    }
    /**
     * Refreshes the connection's token in place: a `ping` with the same ID and the new token (spec §10);
     * `refreshed` reports the answer. False when the session cannot send.
     */
    refresh(token) {
      if (this.phase !== "ready") {
        return false;
      }
      this.refreshRid = this.nextRid();
      return this.sendPing("refresh", token, this.refreshRid);
    }
    nextRid() {
      this.ridCounter += 1;
      return `p${this.ridCounter}`;
    }
    hasEnded() {
      return this.phase === "ended";
    }
    opened() {
      if (this.phase !== "opening") {
        return;
      }
      this.phase = "registering";
      this.registerRid = this.nextRid();
      this.sendPing("register", this.token, this.registerRid);
    }
    received(text) {
      if (this.phase === "ended") {
        return;
      }
      this.lastReceivedAt = now();
      let frames;
      try {
        frames = decodeServerFrames(text);
      } catch (error) {
        this.listener.protocolError(error);
        return;
      }
      for (const frame of frames) {
        if (!this.hasEnded()) {
          this.handle(frame);
        }
      }
    }
    handle(frame) {
      if (frame.action === ServerAction.Pong) {
        this.answered(this.pongs.shift(), frame.id ?? "");
      } else if (this.phase === "registering") {
        if (frame.action === ServerAction.Error) {
          this.pendingRefusal = errorReply(frame);
          this.drop(`the server refused the registration: ${frame.error ?? ""}`);
        }
      } else if (frame.action === ServerAction.Error && frame.rid !== void 0 && frame.rid === this.refreshRid) {
        const index = this.pongs.indexOf("refresh");
        if (index >= 0) {
          this.pongs.splice(index, 1);
        }
        this.refreshRid = "";
        this.listener.refreshed(errorReply(frame));
      } else {
        this.listener.frame(frame);
      }
    }
    answered(purpose, confirmedId) {
      if (purpose === "register") {
        this.phase = "restoring";
        this.listener.registered(confirmedId);
        if (this.phase === "restoring") {
          this.sendPing("barrier");
        }
      } else if (purpose === "refresh") {
        this.refreshRid = "";
        this.listener.refreshed(void 0);
      } else if (purpose === "barrier") {
        clearTimeout(this.connectTimer);
        this.phase = "ready";
        this.scheduleLivenessCheck(this.timing.keepaliveInterval);
        this.listener.ready();
      }
    }
    sendPing(purpose, token = "", rid = "") {
      try {
        this.transport.send(this.encoder.ping(token, rid));
        this.pongs.push(purpose);
        return true;
      } catch (error) {
        this.drop(`could not send: ${error.message}`);
        return false;
      }
    }
    scheduleLivenessCheck(delay) {
      if (this.timing.keepaliveInterval <= 0 || this.phase !== "ready") {
        return;
      }
      clearTimeout(this.livenessTimer);
      this.livenessTimer = setTimeout(() => this.checkLiveness(), delay);
    }
    checkLiveness() {
      const time = now();
      if (this.probeSentAt !== void 0) {
        if (this.lastReceivedAt < this.probeSentAt) {
          const waited = time - this.probeSentAt;
          if (waited >= this.timing.keepaliveTimeout) {
            this.drop(`keepalive timeout: nothing received for ${Math.round(time - this.lastReceivedAt)} ms`);
          } else {
            this.scheduleLivenessCheck(this.timing.keepaliveTimeout - waited);
          }
          return;
        }
        this.probeSentAt = void 0;
      }
      const silence = time - this.lastReceivedAt;
      if (silence < this.timing.keepaliveInterval) {
        this.scheduleLivenessCheck(this.timing.keepaliveInterval - silence);
        return;
      }
      this.probeSentAt = time;
      this.sendPing("probe");
      this.scheduleLivenessCheck(this.timing.keepaliveTimeout);
    }
    closed(code, reason, detail) {
      if (this.phase === "ended") {
        return;
      }
      const noFrame = code === 1005 || code === 1006;
      this.end({
        code: noFrame ? null : code,
        reason: noFrame ? detail || null : reason,
        ...this.progress()
      });
    }
    progress() {
      const progress = { wasReady: this.phase === "ready", wasRegistered: this.phase === "restoring" || this.phase === "ready" };
      return this.pendingRefusal === void 0 ? progress : { ...progress, refusal: this.pendingRefusal };
    }
    end(end) {
      this.phase = "ended";
      clearTimeout(this.connectTimer);
      clearTimeout(this.livenessTimer);
      clearTimeout(this.closeTimer);
      this.listener.ended(end);
    }
  };
  function errorReply(frame) {
    return new ServerErrorReply(`the server answered: ${frame.error ?? "error"}`, {
      code: frame.code ?? "",
      topic: frame.topic ?? "",
      rid: frame.rid ?? "",
      ackId: frame.ack_id ?? ""
    });
  }

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
  function refreshDelay(expiry, now2) {
    const remaining = expiry - now2;
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

  // src/connection.ts
  var Connection = class {
    constructor(options, openTransport, encoder, listener) {
      this.options = options;
      this.openTransport = openTransport;
      this.encoder = encoder;
      this.listener = listener;
      this.state = "connecting";
      this.closedWaiters = [];
      this.policy = new ReconnectPolicy(options.reconnectInitialDelay, options.reconnectFactor, options.reconnectMaxDelay);
      this.tokens = new TokenSource(options.token, options.getToken);
    }
    /** True while a ready connection exists. */
    get isConnected() {
      return this.state === "ready";
    }
    /** True once closed for good. */
    get isClosed() {
      return this.state === "closing" || this.state === "closed";
    }
    /**
     * Makes the first connection. Resolves when it is ready. When it fails, rejects with
     * {@link ConnectionFailed}, unless auto-restart is on: then it resolves at once and keeps trying.
     */
    start() {
      return new Promise((resolve, reject) => {
        this.firstAttempt = { resolve, reject };
        this.connect();
      });
    }
    /** Sends one frame on the current connection; false when there is none able to send. */
    send(text) {
      return this.session?.send(text) ?? false;
    }
    /** Closes for good: no reconnection; resolves once the connection is gone. */
    close() {
      if (this.state === "closed") {
        return Promise.resolve();
      }
      const gone = new Promise((resolve) => this.closedWaiters.push(resolve));
      if (this.state !== "closing") {
        this.state = "closing";
        clearTimeout(this.reconnectTimer);
        clearTimeout(this.refreshTimer);
        this.settleFirstAttempt(new ClientClosed("the client was closed before it connected"));
        if (this.session === void 0) {
          this.finishClose();
        } else {
          this.session.close(1e3, "client closed");
        }
      }
      return gone;
    }
    /** One attempt: a token (from GetToken when set, spec §10), then a session that registers with it. */
    connect() {
      this.state = "connecting";
      this.tokens.fetch().then(
        (token) => this.openSession(token),
        (error) => {
          if (this.state === "connecting") {
            this.attemptFailed(`GetToken failed: ${error?.message ?? String(error)}`);
          }
        }
      );
    }
    openSession(token) {
      if (this.state !== "connecting") {
        return;
      }
      try {
        this.session = new Session(
          this.openTransport,
          this.options.url,
          this.encoder,
          this.options,
          this.sessionListener(),
          token
        );
      } catch (error) {
        this.session = void 0;
        this.attemptFailed(`invalid URL ${this.options.url}: ${error.message}`);
      }
    }
    sessionListener() {
      return {
        registered: (confirmedId) => this.listener.registered(confirmedId),
        ready: () => this.ready(),
        frame: (frame) => this.listener.frame(frame),
        protocolError: (error) => this.listener.error(error),
        refreshed: (refusal) => this.refreshed(refusal),
        ended: (end) => this.sessionEnded(end)
      };
    }
    ready() {
      this.state = "ready";
      this.policy.reset();
      this.scheduleRefresh();
      this.listener.connected();
      this.settleFirstAttempt();
    }
    /** Plans the in-place refresh of the current token, shortly before its `exp` (GetToken only). */
    scheduleRefresh() {
      clearTimeout(this.refreshTimer);
      const delay = this.tokens.refreshIn();
      if (delay !== void 0) {
        this.refreshTimer = setTimeout(() => void this.refresh(), delay);
      }
    }
    async refresh() {
      const session = this.session;
      const before = this.tokens.expiry();
      let token;
      try {
        token = await this.tokens.fetch();
      } catch (error) {
        this.listener.error(new ConnectionFailed(`GetToken failed while refreshing the token: ${error?.message}`));
        return;
      }
      const after = this.tokens.expiry();
      if (session === void 0 || session !== this.session || this.state !== "ready") {
        return;
      }
      if (before !== void 0 && (after === void 0 || after <= before)) {
        return;
      }
      session.refresh(token);
    }
    refreshed(refusal) {
      if (refusal === void 0) {
        this.scheduleRefresh();
      } else {
        this.listener.error(new AuthError(`the server refused the refreshed token: ${refusal.message}`, CLOSE_UNAUTHORIZED));
      }
    }
    sessionEnded(end) {
      this.session = void 0;
      clearTimeout(this.refreshTimer);
      if (end.wasRegistered) {
        this.listener.lost();
      }
      if (end.wasReady) {
        this.listener.disconnected(end.code, end.reason);
      }
      if (this.state === "closing") {
        this.finishClose();
      } else if (end.code === CLOSE_REPLACED) {
        this.listener.error(new ConnectionReplaced(`replaced by a newer connection with the same ID (close code ${CLOSE_REPLACED})`));
        this.closeForGood();
      } else if (authRefusal(end) !== void 0) {
        this.authRefused(authRefusal(end));
      } else if (!end.wasReady) {
        this.attemptFailed(describeEnd(end), end.refusal);
      } else if (this.options.reconnect) {
        this.scheduleReconnect();
      } else {
        this.closeForGood();
      }
    }
    /**
     * The server refused the credentials (spec §7.2, §10). A first attempt without auto-restart rejects
     * `NewClient`; then, with GetToken, a new token is fetched for the next attempt (at once after 4004, with
     * backoff otherwise); without GetToken the same token would be refused again: closed for good.
     */
    authRefused(error) {
      if (this.firstAttempt !== void 0 && (!this.options.autoRestart || !this.tokens.refreshable)) {
        this.state = "closed";
        this.settleFirstAttempt(error);
        return;
      }
      this.listener.error(error);
      this.settleFirstAttempt();
      if (!this.tokens.refreshable) {
        this.closeForGood();
      } else if (error.code === CLOSE_TOKEN_EXPIRED) {
        this.state = "waiting";
        this.reconnectTimer = setTimeout(() => this.connect(), 0);
      } else {
        this.scheduleReconnect();
      }
    }
    attemptFailed(why, cause) {
      const message = `could not connect to ${this.options.url}: ${why}`;
      const error = cause === void 0 ? new ConnectionFailed(message) : new ConnectionFailed(message, { cause });
      if (this.firstAttempt === void 0) {
        this.listener.error(error);
        this.scheduleReconnect();
        return;
      }
      if (this.options.autoRestart) {
        this.listener.error(error);
        this.settleFirstAttempt();
        this.scheduleReconnect();
      } else {
        this.state = "closed";
        this.settleFirstAttempt(error);
      }
    }
    scheduleReconnect() {
      this.state = "waiting";
      this.reconnectTimer = setTimeout(() => this.connect(), this.policy.nextDelay());
    }
    closeForGood() {
      this.state = "closing";
      this.finishClose();
    }
    finishClose() {
      this.state = "closed";
      this.listener.closed();
      for (const resolve of this.closedWaiters.splice(0)) {
        resolve();
      }
    }
    settleFirstAttempt(error) {
      const first = this.firstAttempt;
      this.firstAttempt = void 0;
      if (first !== void 0) {
        if (error === void 0) {
          first.resolve();
        } else {
          first.reject(error);
        }
      }
    }
  };
  function authRefusal(end) {
    if (end.code === CLOSE_UNAUTHORIZED) {
      return new AuthError(`the server refused the credentials: ${end.reason || "unauthorized"}`, CLOSE_UNAUTHORIZED);
    }
    if (end.code === CLOSE_TOKEN_EXPIRED) {
      return new AuthError(`the token expired: ${end.reason || "token expired"}`, CLOSE_TOKEN_EXPIRED);
    }
    if (end.code === null && /Unexpected server response: 401\b/.test(end.reason ?? "")) {
      return new AuthError(`the server refused the token: HTTP 401 from the upgrade`, 401);
    }
    return void 0;
  }
  function describeEnd(end) {
    if (end.code === null) {
      return end.reason ?? "connection failed";
    }
    return `closed with code ${end.code}${end.reason ? ` (${end.reason})` : ""}`;
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

  // src/inbound.ts
  function routeFrame(frame, to) {
    switch (frame.action) {
      case ServerAction.Publish:
        deliverToTopic(frame, "", to);
        break;
      case ServerAction.PublishAck:
        deliverWithAck(frame, to);
        break;
      case ServerAction.DirectMessage: {
        const handler = to.subscriptions.idHandler;
        if (handler !== void 0) {
          to.dispatcher.deliver(handler, directMessage(frame), "");
        }
        break;
      }
      case ServerAction.AckProgress: {
        const response = readAckResponse(frame.data);
        if (response !== void 0) {
          to.acks.get(frame.ack_id ?? "")?._onProgress(response);
        }
        break;
      }
      case ServerAction.AckResponse:
        to.acks.get(frame.ack_id ?? "")?._onResponse(frame.responses ?? {});
        break;
      case ServerAction.AckStatus:
        to.statusQueries.answered(frame.ack_id ?? "", frame.status);
        break;
      case ServerAction.Subscribed:
        to.requests.answered(frame.rid ?? "", void 0, frame.topic ?? "");
        break;
      case ServerAction.Error:
        routeError(frame, to);
        break;
      default:
        break;
    }
  }
  function routeError(frame, to) {
    const error = errorReply(frame);
    if (frame.rid !== void 0 && to.requests.answered(frame.rid, error)) {
      return;
    }
    const handle = frame.ack_id === void 0 ? void 0 : to.acks.get(frame.ack_id);
    if (handle !== void 0) {
      handle._fail(error);
      return;
    }
    to.reportError(error);
  }
  function deliverToTopic(frame, ackId, to) {
    const subscription = to.subscriptions.get(frame.topic ?? "");
    if (subscription === void 0) {
      to.dispatcher.noSubscriber(ackId);
    } else {
      to.dispatcher.deliver(subscription, unwrapDelivery(frame), ackId);
    }
  }
  function deliverWithAck(frame, to) {
    const ackId = frame.ack_id ?? "";
    if (!(frame.topic ?? "").startsWith(directTopicPrefix(to.clientId))) {
      deliverToTopic(frame, ackId, to);
      return;
    }
    const handler = to.subscriptions.idHandler;
    if (handler === void 0) {
      to.dispatcher.noSubscriber(ackId);
    } else {
      to.dispatcher.deliver(handler, unwrapDelivery(frame), ackId);
    }
  }

  // src/offline-queue.ts
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
    push(frame) {
      if (this.frames.length < this.capacity) {
        this.frames.push(frame);
        return void 0;
      }
      if (this.policy === "raise") {
        throw new OfflineQueueFull(`offline queue full (${this.capacity} publications); not sent`);
      }
      if (this.policy === "drop_newest" || this.capacity === 0) {
        return frame;
      }
      const dropped = this.frames.shift();
      this.frames.push(frame);
      return dropped;
    }
    /** Removes the queued request of one ack, if it is still queued (it was cancelled or timed out). */
    removeAck(ackId) {
      this.frames = this.frames.filter((frame) => frame.ackId !== ackId);
    }
    /** Removes and returns every queued frame, oldest first. */
    drain() {
      const frames = this.frames;
      this.frames = [];
      return frames;
    }
  };

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

  // src/outbox.ts
  var Outbox = class {
    constructor(connection, queue, acks, reportError) {
      this.connection = connection;
      this.queue = queue;
      this.acks = acks;
      this.reportError = reportError;
    }
    /** Sends one frame now, or queues it. Throws {@link OfflineQueueFull} under the `"raise"` policy. */
    send(frame) {
      if (this.trySend(frame)) {
        return;
      }
      let dropped;
      try {
        dropped = this.queue.push(frame);
      } catch (error) {
        this.reportError(error);
        throw error;
      }
      if (dropped !== void 0) {
        const which = dropped === frame ? "the new publication was dropped" : "the oldest queued publication was dropped";
        this.reportError(new OfflineQueueFull(`offline queue full (${this.queue.capacity} publications); ${which}`));
        if (dropped.ackId !== void 0) {
          this.acks.get(dropped.ackId)?._finish();
        }
      }
    }
    /** Sends the queued frames, oldest first; what cannot be sent stays queued for the next connection. */
    flush() {
      const queued = this.queue.drain();
      for (const [index, frame] of queued.entries()) {
        if (frame.ackId !== void 0 && this.acks.get(frame.ackId) === void 0) {
          continue;
        }
        if (!this.trySend(frame)) {
          for (const rest of queued.slice(index)) {
            this.queue.push(rest);
          }
          return;
        }
      }
    }
    /** Drops a queued ack request (its handle ended). */
    forgetAck(ackId) {
      this.queue.removeAck(ackId);
    }
    /** Drops everything queued (the client is closed). */
    clear() {
      this.queue.drain();
    }
    trySend(frame) {
      if (!this.connection.send(frame.text)) {
        return false;
      }
      if (frame.ackId !== void 0) {
        this.acks.get(frame.ackId)?._markSent();
      }
      return true;
    }
  };

  // src/transport.ts
  var decoder = typeof TextDecoder === "function" ? new TextDecoder() : void 0;
  function webSocketOpener(WebSocketClass) {
    return (url, handlers) => {
      const socket = new WebSocketClass(url);
      socket.binaryType = "arraybuffer";
      let detail = "";
      let closed = false;
      const finish = (code, reason) => {
        if (!closed) {
          closed = true;
          handlers.onClose(code, reason, detail);
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
        }
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

  // src/requests.ts
  var PendingRequests = class {
    constructor() {
      this.byRid = /* @__PURE__ */ new Map();
      this.counter = 0;
    }
    /** A fresh request ID, unique on this client. */
    newRid() {
      this.counter += 1;
      return String(this.counter);
    }
    /** Waits for the answer to the request sent with `rid` about `topic`. */
    add(rid, topic, settle) {
      this.byRid.set(rid, { topic, settle });
    }
    /**
     * The server answered `rid` (with `refusal` for an error frame); true when a request waited for it. A
     * confirmation without `rid` goes to the oldest request about its topic.
     */
    answered(rid, refusal, topic = "") {
      let key = rid;
      if (rid === "") {
        key = [...this.byRid].find(([, pending2]) => pending2.topic === topic && topic !== "")?.[0];
      }
      const pending = key === void 0 ? void 0 : this.byRid.get(key);
      if (key === void 0 || pending === void 0) {
        return false;
      }
      this.byRid.delete(key);
      pending.settle(refusal);
      return true;
    }
    /** The connection is gone: the requests are restored on the next one, so they count as done. */
    connectionLost() {
      const pending = [...this.byRid.values()];
      this.byRid.clear();
      for (const request of pending) {
        request.settle(void 0);
      }
    }
  };

  // src/status-queries.ts
  var STATUS_TIMEOUT_MS = 2e3;
  var StatusQueries = class {
    constructor(connection, encoder) {
      this.connection = connection;
      this.encoder = encoder;
      this.waiting = /* @__PURE__ */ new Map();
    }
    /**
     * Asks the server; resolves to the status map, or undefined when not connected, not answered in time, or
     * answered without status (the request is unknown or finished).
     */
    query(ackId) {
      if (!this.connection.isConnected) {
        return Promise.resolve(void 0);
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => answer(void 0), STATUS_TIMEOUT_MS);
        const answer = (status) => {
          clearTimeout(timer);
          this.remove(ackId, answer);
          resolve(status);
        };
        this.answersFor(ackId).push(answer);
        if (!this.connection.send(this.encoder.getAckStatus(ackId))) {
          answer(void 0);
        }
      });
    }
    /** An `ack_status` frame arrived. */
    answered(ackId, status) {
      const answer = this.waiting.get(ackId)?.[0];
      if (answer !== void 0) {
        answer(status !== void 0 && Object.keys(status).length > 0 ? status : void 0);
      }
    }
    /** The connection is gone: no answer will come. */
    connectionLost() {
      for (const answers of [...this.waiting.values()]) {
        for (const answer of [...answers]) {
          answer(void 0);
        }
      }
    }
    answersFor(ackId) {
      let answers = this.waiting.get(ackId);
      if (answers === void 0) {
        answers = [];
        this.waiting.set(ackId, answers);
      }
      return answers;
    }
    remove(ackId, answer) {
      const answers = this.waiting.get(ackId);
      if (answers === void 0) {
        return;
      }
      const index = answers.indexOf(answer);
      if (index >= 0) {
        answers.splice(index, 1);
      }
      if (answers.length === 0) {
        this.waiting.delete(ackId);
      }
    }
  };

  // src/subscriptions.ts
  var Subscription = class {
    constructor(topic, callback, unsubscribe) {
      this.topic = topic;
      this.callback = callback;
      this.active = true;
      this.unsub = () => unsubscribe(this);
    }
  };
  var SubscriptionRegistry = class {
    constructor() {
      this.byTopic = /* @__PURE__ */ new Map();
      /** Topics unsubscribed while offline: the server may still hold them for this ID (spec §3.3). */
      this.stale = /* @__PURE__ */ new Set();
    }
    /** Makes `subscription` the topic's current one; the one it replaces stops receiving. */
    add(subscription) {
      const old = this.byTopic.get(subscription.topic);
      if (old !== void 0) {
        old.active = false;
      }
      this.byTopic.set(subscription.topic, subscription);
      this.stale.delete(subscription.topic);
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
    /** Remembers a topic the server could not be told about (unsubscribed while offline). */
    markStale(topic) {
      this.stale.add(topic);
    }
    /** The stale topics not subscribed again since, to unsubscribe on the next connection; forgets them. */
    takeStaleTopics() {
      const topics = [...this.stale].filter((topic) => !this.byTopic.has(topic));
      this.stale.clear();
      return topics;
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
      this.stale.clear();
      this.setIdHandler(void 0);
    }
  };

  // src/client.ts
  var DEFAULT_ACK_TIMEOUT_MS = ClientDefaults.ackTimeout;
  var Client = class _Client {
    constructor(options, opener, raw) {
      this.subscriptions = new SubscriptionRegistry();
      this.requests = new PendingRequests();
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
        reportError
      );
      this.inbound = {
        clientId: options.id,
        subscriptions: this.subscriptions,
        dispatcher,
        acks: this.acks,
        statusQueries: this.statusQueries,
        requests: this.requests,
        reportError
      };
      this.subscriptions.setIdHandler(raw.OnId);
    }
    /**
     * Connects to a ksps server. Resolves once the client is registered. When the first connection fails,
     * rejects with {@link ConnectionFailed}, unless `Autorestart` is set: then it resolves at once with a
     * client that keeps trying in the background.
     */
    static async NewClient(options = {}) {
      if (!options.Id && options.Token === void 0 && options.GetToken !== void 0) {
        options = { ...options, Id: tokenSubject(await options.GetToken()) || defaultClientId() };
      }
      const opener = options.WebSocket !== void 0 ? webSocketOpener(options.WebSocket) : defaultWebSocketOpener();
      const client = new _Client(resolveOptions(options), opener, options);
      await client.connection.start();
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
      return this.connection.isConnected;
    }
    /** Same as {@link Client.IsConnected}. */
    get isConnected() {
      return this.connection.isConnected;
    }
    /**
     * Subscribes to a topic: `callback({data, from}, unsub)` runs for each publication. Subscribing again
     * to the same topic replaces the callback. Works while offline too: the subscription is made on the
     * next connection. Returns the function that ends the subscription; awaiting it waits for the server's
     * confirmation and throws {@link ServerErrorReply} when the server refused it (see {@link SubscribeResult}).
     */
    Subscribe(topic, callback) {
      this.checkOpen();
      checkName("topic", topic);
      if (typeof callback !== "function") {
        throw new TypeError("the callback must be a function");
      }
      const subscription = new Subscription(topic, callback, (ended) => this.endSubscription(ended));
      this.subscriptions.add(subscription);
      const unsub = () => subscription.unsub();
      let awaited = false;
      const confirmed = new Promise((resolve, reject) => {
        const rid = this.requests.newRid();
        this.requests.add(rid, topic, (refusal) => {
          if (refusal === void 0) {
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
          this.requests.answered(rid, void 0);
        }
      });
      confirmed.catch(() => {
      });
      const result = (() => subscription.unsub());
      result.then = (onFulfilled, onRejected) => {
        awaited = true;
        return confirmed.then(onFulfilled, onRejected);
      };
      return result;
    }
    /** Ends the topic's subscription; its callback stops at once (spec §4.1). */
    Unsubscribe(topic) {
      this.checkOpen();
      checkName("topic", topic);
      this.subscriptions.removeTopic(topic);
      this.tellUnsubscribed(topic);
    }
    /** Publishes `data` (any JSON value) to every subscriber of `topic` (spec §4.2). */
    Publish(topic, data) {
      this.checkOpen();
      checkName("topic", topic);
      this.outbox.send({ text: this.encoder.publish(topic, data) });
    }
    /** Sends `data` to one client, or to the server's OnID handler when `targetId` is the server's ID (spec §5). */
    PublishToID(targetId, data) {
      this.checkOpen();
      checkName("target ID", targetId);
      this.outbox.send({ text: this.encoder.direct(targetId, data) });
    }
    /** Asks the server to relay `data` to the server at `addrWithPath` (spec §8.1). */
    PublishToServer(addrWithPath, data, secure = false) {
      this.checkOpen();
      checkName("server address", addrWithPath);
      this.outbox.send({ text: this.encoder.publishToServer(addrWithPath, data, secure) });
    }
    /**
     * Publishes with acknowledgement: every subscriber answers once its callback finished. The server
     * waits at most `timeoutMs` (default 30000) for them (spec §6.1-§6.3). Returns the handle at once.
     */
    PublishWithAck(topic, data, timeoutMs = DEFAULT_ACK_TIMEOUT_MS) {
      this.checkOpen();
      checkName("topic", topic);
      const timeout = checkTimeout(timeoutMs);
      const ackId = this.acks.newId();
      return this.startAck(ackId, timeout, this.encoder.publishWithAck(topic, data, ackId, timeout));
    }
    /** Sends `data` to one client (its OnId handler) with acknowledgement (spec §6.4). */
    PublishToIDWithAck(targetId, data, timeoutMs = DEFAULT_ACK_TIMEOUT_MS) {
      this.checkOpen();
      checkName("target ID", targetId);
      const timeout = checkTimeout(timeoutMs);
      const ackId = this.acks.newId();
      return this.startAck(ackId, timeout, this.encoder.publishToIdWithAck(targetId, data, ackId, timeout));
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
      await this.connection.close();
    }
    // -- internals -------------------------------------------------------------------------------------
    connectionListener() {
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
        }
      };
    }
    /**
     * Sends what a new connection needs, in order: unsubscriptions made offline, every subscription, then
     * the queued publications, which so reach the client's own restored subscriptions too.
     */
    restore() {
      for (const topic of this.subscriptions.takeStaleTopics()) {
        this.connection.send(this.encoder.unsubscribe(topic));
      }
      for (const topic of this.subscriptions.topics()) {
        const rid = this.requests.newRid();
        this.requests.add(rid, topic, (refusal) => this.restoreRefused(topic, refusal));
        this.connection.send(this.encoder.subscribe(topic, rid));
      }
      this.outbox.flush();
    }
    restoreRefused(topic, refusal) {
      if (refusal !== void 0) {
        this.subscriptions.removeTopic(topic);
        this.reportError(refusal);
      }
    }
    startAck(ackId, timeout, text) {
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
    ackOwner() {
      return {
        forget: (ackId) => {
          this.acks.forget(ackId);
          this.outbox.forgetAck(ackId);
        },
        queryStatus: (ackId) => this.statusQueries.query(ackId),
        cancelOnServer: (ackId) => this.connection.send(this.encoder.cancelAck(ackId))
      };
    }
    endSubscription(subscription) {
      if (this.subscriptions.remove(subscription) && !this.connection.isClosed) {
        this.tellUnsubscribed(subscription.topic);
      }
    }
    tellUnsubscribed(topic) {
      if (!this.connection.send(this.encoder.unsubscribe(topic, this.requests.newRid()))) {
        this.subscriptions.markStale(topic);
      }
    }
    checkOpen() {
      if (this.connection.isClosed) {
        throw new ClientClosed("the client is closed; create a new one with Client.NewClient");
      }
    }
  };
  function checkName(what, value) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`the ${what} must be a non-empty string`);
    }
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
