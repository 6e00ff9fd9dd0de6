#!/usr/bin/env node
// The conformance adapter of the JavaScript client (spec/conformance/ADAPTER.md): JSON-line commands on
// stdin, replies and events on stdout, each command mapped one to one onto the built package's public API.
// Commands run concurrently: a blocking one (ack_wait...) never delays the next line.
// Run `npm run build` in clients/js first; start with `node clients/js/test/conformance-adapter.mjs`.
import { createInterface } from "node:readline";
import * as ksps from "ksps";

const { AuthError, Client, KspsError, ServerErrorReply } = ksps;

let client;
/** The connect in progress: commands that arrive meanwhile wait for it. */
let connecting = Promise.resolve();
let onIdBehavior = { behavior: "ok", error: "" };
const handles = new Map();
let handleCount = 0;

function emit(object) {
  // stdout is a pipe: Node writes to pipes synchronously on POSIX, so each line is flushed at once.
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

/**
 * `error_type` (the class name, as in spec/vocabulary.toml), and `code`, `topic`, `rid` of the error or of its
 * cause (spec/conformance/ADAPTER.md).
 */
function describe(error) {
  const fields = { error_type: error?.name };
  for (let cause = error; cause !== undefined && cause !== null; cause = cause.cause) {
    if (cause instanceof AuthError) {
      fields.code = cause.code;
      break;
    }
    if (cause instanceof ServerErrorReply) {
      Object.assign(fields, { code: cause.code, topic: cause.topic, rid: cause.rid });
      break;
    }
  }
  return fields;
}

/** The `message` event of a delivery: `offset` only when the message has one (spec/protocol.md §14.2). */
function messageEvent(topic, message) {
  const event = { event: "message", topic, data: message.data ?? null, from: message.from };
  if (message.offset !== undefined) event.offset = message.offset;
  return event;
}

/** `{offset, epoch}` of a command's argument, as given (the client checks it). */
function position(value) {
  return value === undefined || value === null ? undefined : value;
}

function log(...parts) {
  process.stderr.write(`[js-adapter] ${parts.join(" ")}\n`);
}

/** Applies a subscribe/set_on_id behaviour after the event was emitted. */
function behave({ behavior, error }, unsub) {
  if (behavior === "raise") {
    throw new Error(error ?? "error");
  }
  if (behavior === "unsub" && unsub !== undefined) {
    unsub();
  }
}

/** `PublishWithAck` -> `publish_with_ack`. */
function snake(name) {
  return name.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();
}

/** Calls a handle's method as user code does, without await: the vocabulary says it is synchronous. */
function synchronously(ack, method) {
  const result = ack[method]();
  if (result !== null && typeof result === "object" && typeof result.then === "function") {
    result.then(undefined, () => {});
    throw new TypeError(`${method}() returned a promise: it must be synchronous (spec/vocabulary.toml)`);
  }
  return result;
}

function requireClient() {
  if (client === undefined) {
    throw new Error("not connected: send connect first");
  }
  return client;
}

function newHandle(ack) {
  handleCount += 1;
  const handle = `h${handleCount}`;
  handles.set(handle, ack);
  return { handle };
}

function ackOf(args) {
  const ack = handles.get(args.handle);
  if (ack === undefined) {
    throw new Error(`unknown handle ${JSON.stringify(args.handle)}`);
  }
  return ack;
}

const commands = {
  async connect(args) {
    const previous = client;
    client = undefined;
    await previous?.Close();
    const options = {
      Address: args.address,
      Path: args.path ?? "/ws/bus",
      Autorestart: args.autorestart === true,
      OnId: (message) => {
        emit({ event: "direct", data: message.data ?? null, from: message.from });
        behave(onIdBehavior);
      },
      OnConnect: () => emit({ event: "connected" }),
      OnDisconnect: (code, reason) => emit({ event: "disconnected", code, reason }),
      OnError: (error) => emit({ event: "error", message: error.message, ...describe(error) }),
      // -- presence (spec/protocol.md §15)
      OnJoin: (topic, id) => emit({ event: "join", topic, id }),
      OnLeave: (topic, id) => emit({ event: "leave", topic, id }),
      // -- history (spec/protocol.md §14)
      OnSubscribed: (topic, info) => emit({
        event: "subscribed", topic, recovering: info.recovering, recovered: info.recovered,
        ...(info.position === undefined ? {} : { offset: info.position.offset, epoch: info.position.epoch }),
      }),
    };
    if (args.token) options.Token = args.token;
    if (Array.isArray(args.tokens) && args.tokens.length > 0) {
      let handed = 0;
      options.GetToken = async () => args.tokens[Math.min(handed++, args.tokens.length - 1)];
    }
    if (args.id) options.Id = args.id;
    if (args.reconnect_initial_ms !== undefined) options.ReconnectInitialDelay = args.reconnect_initial_ms;
    if (args.reconnect_max_ms !== undefined) options.ReconnectMaxDelay = args.reconnect_max_ms;
    if (args.offline_queue_size !== undefined) options.OfflineQueueSize = args.offline_queue_size;
    client = await Client.NewClient(options);
    return { id: client.Id };
  },

  async subscribe(args) {
    const behavior = { behavior: args.behavior ?? "ok", error: args.error };
    const since = position(args.since);
    await requireClient().Subscribe(args.topic, (message, unsub) => {
      emit(messageEvent(args.topic, message));
      behave(behavior, unsub);
    }, since === undefined ? {} : { since });
    return {};
  },

  // -- presence (spec/protocol.md §15)
  async subscribe_join_leave(args) {
    await requireClient().Subscribe(
      args.topic,
      (message) => emit(messageEvent(args.topic, message)),
      { joinLeave: true },
    );
    return {};
  },

  async presence(args) {
    const info = await requireClient().Presence(args.topic);
    return { count: info.count, ids: info.ids, truncated: info.truncated };
  },

  // -- history (spec/protocol.md §14)
  async history(args) {
    const options = {};
    if (position(args.since) !== undefined) options.since = args.since;
    if (args.limit !== undefined && args.limit !== null) options.limit = args.limit;
    if (args.reverse !== undefined && args.reverse !== null) options.reverse = args.reverse;
    const page = await requireClient().History(args.topic, options);
    return {
      publications: page.publications.map((p) => ({ data: p.data ?? null, from: p.from, offset: p.offset })),
      offset: page.offset,
      epoch: page.epoch,
    };
  },

  position(args) {
    const found = requireClient().Position(args.topic);
    return { position: found === undefined ? null : { offset: found.offset, epoch: found.epoch } };
  },

  unsubscribe(args) {
    requireClient().Unsubscribe(args.topic);
    return {};
  },

  publish(args) {
    requireClient().Publish(args.topic, args.data);
    return {};
  },

  publish_to_id(args) {
    requireClient().PublishToID(args.to, args.data);
    return {};
  },

  publish_to_server(args) {
    requireClient().PublishToServer(args.addr, args.data);
    return {};
  },

  publish_with_ack(args) {
    return newHandle(requireClient().PublishWithAck(args.topic, args.data, args.timeout_ms));
  },

  publish_to_id_with_ack(args) {
    return newHandle(requireClient().PublishToIDWithAck(args.to, args.data, args.timeout_ms));
  },

  async ack_wait(args) {
    return { responses: await ackOf(args).Wait() };
  },

  async ack_wait_any(args) {
    const { response, success } = await ackOf(args).WaitAny();
    return { response, ok: success };
  },

  ack_status(args) {
    return { status: synchronously(ackOf(args), "GetStatus") };
  },

  ack_is_complete(args) {
    return { complete: Boolean(synchronously(ackOf(args), "IsComplete")) };
  },

  ack_cancel(args) {
    synchronously(ackOf(args), "Cancel");
    return {};
  },

  async ack_fetch_status(args) {
    return { status: await ackOf(args).FetchStatus() };
  },

  async vocabulary() {
    // What the client really uses: the option resolution of NewClient and the protocol constants of its sources.
    const { resolveOptions, actions } = await import("./helpers/internals.mjs");
    const resolved = resolveOptions({ Address: "127.0.0.1:1" });
    const client_defaults = {
      path: new URL(resolved.url).pathname,
      secure: resolved.url.startsWith("wss:"),
      ack_timeout: ksps.DEFAULT_ACK_TIMEOUT_MS,
    };
    for (const [key, value] of Object.entries(resolved)) {
      if (!["url", "id", "getToken"].includes(key)) client_defaults[snake(key)] = value;
    }
    client_defaults.autorestart = client_defaults.auto_restart;
    delete client_defaults.auto_restart;
    const close_codes = {};
    for (const [key, value] of Object.entries(actions)) {
      if (key.startsWith("CLOSE_")) close_codes[key.slice(6).toLowerCase()] = value;
    }
    const wire = {};
    for (const [key, value] of [...Object.entries(actions.ClientAction), ...Object.entries(actions.ServerAction)]) {
      wire[snake(key)] = value;
    }
    const error_classes = {};
    for (const [name, value] of Object.entries(ksps)) {
      if (typeof value === "function" && (value === KspsError || value.prototype instanceof KspsError)) {
        error_classes[name] = Object.getPrototypeOf(value).name || "Error";
      }
    }
    return { language: "js", client_defaults, close_codes, actions: wire, error_classes };
  },

  set_on_id(args) {
    onIdBehavior = { behavior: args.behavior ?? "ok", error: args.error };
    return {};
  },

  async close() {
    await requireClient().Close();
    return {};
  },
};

async function run(line) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    log("unreadable command:", line, error.message);
    return;
  }
  const { id, cmd, args = {} } = command;
  const handler = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (handler === undefined) {
    emit({ id, ok: false, error: `unknown command ${JSON.stringify(cmd)}` });
    return;
  }
  try {
    let result;
    if (cmd === "connect") {
      const attempt = connecting.then(() => handler(args));
      connecting = attempt.catch(() => undefined);
      result = await attempt;
    } else {
      await connecting;
      result = await handler(args);
    }
    emit({ id, ok: true, result });
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    emit({ id, ok: false, error: text, ...describe(error) });
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() !== "") {
    void run(line);
  }
});
lines.on("close", async () => {
  // End of stdin: close the client and leave within the 5 s the contract allows.
  setTimeout(() => process.exit(0), 4000).unref();
  try {
    await connecting;
    await client?.Close();
  } catch (error) {
    log("close failed:", error.message);
  }
  process.exit(0);
});
