/**
 * The application's intents inside the core: subscriptions, publications (sent at once when ready, else
 * queued), requests with acknowledgement and their handles (spec §4-§6), and the in-place token refresh.
 * @module
 */

import { ACK_GRACE_MS } from "./ack-state.js";
import type { ClientSession } from "./session.js";
import type { Frame, Input, StreamPosition } from "./types.js";

type Intent = Exclude<Input, { type: "start" | "opened" | "frame" | "lost" | "timer" | "close" }>;

/** Applies one intent to `session`; its outputs go to `session.out`. */
export function applyIntent(session: ClientSession, input: Intent): void {
  switch (input.type) {
    case "subscribe": return subscribe(session, input.topic, input.handle ?? "", input.join_leave === true, input.since);
    case "presence": return presence(session, input.topic, input.handle);
    case "history": return history(session, input);
    case "unsubscribe": return unsubscribe(session, input.topic, input.handle ?? "");
    case "publish": return sendOrQueue(session, session.frames.publish(input.topic, input.data));
    case "publish_to_id": return sendOrQueue(session, session.frames.direct(input.to, input.data));
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
    case "cancel": return cancel(session, input.ack);
    case "fetch_status": return fetchStatus(session, input.ack);
    case "ack": return session.registered ? session.send(session.frames.ack(input.ack_id, input.success, input.error)) : undefined;
    case "refresh_token": return refreshToken(session, input.token);
  }
}

function subscribe(session: ClientSession, topic: string, handle: string, joinLeave: boolean, since?: StreamPosition): void {
  session.topics.add(topic);
  if (since !== undefined) {
    // Remembered before the frame is built: an offline subscribe recovers from it on the next connection.
    session.positions.set(topic, { offset: since.offset, epoch: since.epoch });
  }
  if (joinLeave) {
    session.joinLeave.add(topic);
  } else {
    session.joinLeave.delete(topic);
  }
  if (!session.registered) {
    // Made on the next connection, with the others (spec §4.1); confirmed then.
    session.wait(topic, handle);
    return;
  }
  // `since` only when the intent carries it: re-subscribing a subscribed topic from its remembered
  // position would deliver a publication in flight twice (the server guarantees none at the seam of a recovery it was asked for, spec §14.3).
  const rid = session.env.newRid();
  session.requests.add(rid, since === undefined ? { kind: "subscribe", key: topic, handle } : { kind: "subscribe", key: topic, handle, recovering: true });
  session.send(session.frames.subscribe(topic, rid, joinLeave, since));
}

/** Forgets a topic; asks the server only when it holds it (registered and subscribed), else at once. */
function unsubscribe(session: ClientSession, topic: string, handle: string): void {
  const held = session.topics.delete(topic) && session.registered;
  session.joinLeave.delete(topic);
  session.positions.delete(topic); // a later subscribe starts afresh, not from where this one was
  for (const waiting of session.takeWaiting(topic)) {
    session.emit({ type: "subscribed", handle: waiting }); // made, then ended, while offline
  }
  if (!held) {
    if (handle !== "") session.emit({ type: "unsubscribed", handle });
    return;
  }
  const rid = session.env.newRid();
  session.requests.add(rid, { kind: "unsubscribe", key: topic, handle });
  session.send(session.frames.unsubscribe(topic, rid));
}

/** Sends a publication now, or queues it until the next connection is ready. */
function sendOrQueue(session: ClientSession, frame: Frame, handle?: string): void {
  if (session.phase === "ready") {
    session.send(frame);
    const pending = handle === undefined ? undefined : session.acks.get(handle);
    if (pending !== undefined) pending.sent = true;
    return;
  }
  const dropped = session.queue.push(handle === undefined ? { frame } : { frame, handle });
  if (dropped !== undefined) {
    session.emit({ type: "queue_overflow", dropped: dropped.frame });
    if (dropped.handle !== undefined) session.endAck(dropped.handle);
  }
}

function startAck(session: ClientSession, handle: string, timeout: number): string {
  const ackId = session.env.newAckId();
  session.acks.add(handle, ackId, session.now + timeout + ACK_GRACE_MS);
  return ackId;
}

function cancel(session: ClientSession, handle: string): void {
  const pending = session.acks.get(handle);
  if (pending === undefined) {
    return;
  }
  if (pending.sent && session.registered) {
    session.send(session.frames.cancelAck(pending.ackId));
  }
  session.endAck(handle);
}

function fetchStatus(session: ClientSession, handle: string): void {
  const pending = session.acks.get(handle);
  if (pending === undefined || !pending.sent || session.phase !== "ready") {
    // A request not on the server (still queued, or ended) has no server-side status to ask for.
    session.notConnected(handle);
    return;
  }
  const rid = session.env.newRid();
  session.requests.add(rid, { kind: "status", key: pending.ackId, handle });
  session.send(session.frames.getAckStatus(pending.ackId, rid));
}

function refreshToken(session: ClientSession, token: string): void {
  if (session.phase === "ready") {
    session.refreshRid = session.env.newRid();
    session.send(session.frames.ping(session.refreshRid, token));
  }
}

/** Asks for a topic's members (spec §15.2); needs a registered connection (also while the subscriptions are
 * being restored), so refused NotConnected otherwise; never queued (spec/traces join-leave-restored). */
function presence(session: ClientSession, topic: string, handle: string): void {
  if (!session.registered) {
    session.notConnected(handle);
    return;
  }
  const rid = session.env.newRid();
  session.requests.add(rid, { kind: "presence", key: topic, handle });
  session.send(session.frames.presence(topic, rid));
}

/** Reads a topic's kept publications (spec §14.4): like `presence`, refused NotConnected when not
 * registered (never queued: the answer is about now). */
function history(session: ClientSession, input: Extract<Input, { type: "history" }>): void {
  if (!session.registered) {
    session.notConnected(input.handle);
    return;
  }
  const rid = session.env.newRid();
  session.requests.add(rid, { kind: "history", key: input.topic, handle: input.handle });
  session.send(session.frames.history(input.topic, rid, input.since, input.limit, input.reverse === true));
}
