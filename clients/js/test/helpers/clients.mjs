// Clients for the tests, each recording what it receives and its lifecycle events.
import { Client } from "ksps";
import { Inbox } from "./wait.mjs";

let counter = 0;

/** A unique client ID for one test. */
export function uniqueId(prefix = "c") {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * Connects a client to `server` and records its events in `client.testEvents` (an Inbox of
 * `{type, ...}`) and its direct messages in `client.direct` (an Inbox of messages).
 */
export async function connect(server, options = {}) {
  const events = new Inbox("events");
  const direct = new Inbox("direct");
  const client = await Client.NewClient({
    Address: server.address,
    Id: uniqueId(),
    KeepaliveInterval: 0,
    OnId: (message) => direct.push(message),
    OnConnect: () => events.push({ type: "connect" }),
    OnDisconnect: (code, reason) => events.push({ type: "disconnect", code, reason }),
    OnError: (error) => events.push({ type: "error", error }),
    OnClose: () => events.push({ type: "close" }),
    ...options,
  });
  client.testEvents = events;
  client.direct = direct;
  return client;
}

/**
 * Subscribes `client` to `topic`, recording deliveries in the returned Inbox; the probes of `synced` go to
 * its `probes` Inbox instead.
 */
export function record(client, topic) {
  const inbox = new Inbox(`messages of ${topic}`);
  inbox.probes = new Inbox(`probes of ${topic}`);
  client.Subscribe(topic, (message) => (isProbe(message) ? inbox.probes : inbox).push(message));
  return inbox;
}

/** True for the probe messages of `synced`. */
export function isProbe(message) {
  return typeof message.data === "object" && message.data !== null && "__probe" in message.data;
}

let probes = 0;

/**
 * Waits until the server has processed `client`'s subscription to `topic`: the client publishes a probe to
 * the topic and waits for it to come back (the server handles one connection's frames in order). The
 * probe is removed from `inbox`.
 */
export async function synced(client, topic, inbox) {
  probes += 1;
  const probe = `${client.Id}/${probes}`;
  client.Publish(topic, { __probe: probe });
  await (inbox.probes ?? inbox).next((message) => message.data?.__probe === probe);
}

/**
 * Subscribes `client` to `topic` with `callback` and waits until the server has processed it (see
 * `synced`); the callback never sees the probe.
 */
export async function subscribed(client, topic, callback) {
  const probes = new Inbox(`probes of ${topic}`);
  const unsub = client.Subscribe(topic, (message, unsubscribe) =>
    isProbe(message) ? probes.push(message) : callback(message, unsubscribe),
  );
  await synced(client, topic, { probes });
  return unsub;
}
