/**
 * Routes each frame from the server inside the core (spec/protocol.md §3-§7, §11): the registration `pong`,
 * replies to requests by `rid`, deliveries to subscribed topics, acknowledgements to their handles.
 * @module
 */

import { CLOSE_UNAUTHORIZED, NO_SUBSCRIBER, ServerAction, directTopicPrefix } from "../protocol/actions.js";
import { checkFrame, readAckResponse, unwrapDelivery } from "../protocol/codec.js";
import type { ServerFrame } from "../protocol/types.js";
import type { PendingRequest, RequestKind } from "./requests.js";
import type { ClientSession } from "./session.js";
import type { CoreEvent } from "./types.js";

const ALL_KINDS: readonly RequestKind[] = ["subscribe", "restore", "unsubscribe", "status", "presence", "history"];
const SUBSCRIBE_KINDS: readonly RequestKind[] = ["subscribe", "restore"];

/** Routes one frame (a parsed JSON value). A malformed one is reported; the connection goes on. */
export function routeFrame(session: ClientSession, value: unknown): void {
  let frame: ServerFrame;
  try {
    frame = checkFrame(value);
  } catch (error) {
    session.detail = (error as Error).message;
    session.emit({ type: "error", error: "ProtocolError" });
    return;
  }
  if (session.phase === "registering") {
    registering(session, frame);
  } else if (session.registered) {
    route(session, frame);
  }
}

/** Before the `pong` only the registration's answer counts: the `pong`, or an error refusing it. */
function registering(session: ClientSession, frame: ServerFrame): void {
  const answersPing = frame.rid === undefined || frame.rid === session.registerRid;
  if (frame.action === ServerAction.Pong && answersPing) {
    session.registeredNow();
  } else if (frame.action === ServerAction.Error && answersPing) {
    session.registrationRefused(frame.error ?? "error", frame.code ?? "");
  }
}

function route(session: ClientSession, frame: ServerFrame): void {
  switch (frame.action) {
    case ServerAction.Publish:
    case ServerAction.PublishAck:
      return deliver(session, frame);
    case ServerAction.DirectMessage:
      return session.emit({ type: "direct", data: frame.data ?? null, from: frame.from ?? "" });
    case ServerAction.AckProgress: {
      const response = readAckResponse(frame.data);
      return response === undefined ? undefined : ackResponses(session, frame.ack_id ?? "", [response], false);
    }
    case ServerAction.AckResponse:
      return ackResponses(session, frame.ack_id ?? "", Object.values(frame.responses ?? {}), true);
    case ServerAction.Subscribed:
      return subscribed(session, frame, session.requests.take(frame.rid, SUBSCRIBE_KINDS, frame.topic ?? ""));
    case ServerAction.History:
      return historyAnswer(session, frame);
    case ServerAction.Unsubscribed: {
      const request = session.requests.take(frame.rid, ["unsubscribe"], frame.topic ?? "");
      return request?.handle ? session.emit({ type: "unsubscribed", handle: request.handle }) : undefined;
    }
    case ServerAction.AckStatus: {
      const request = session.requests.take(frame.rid, ["status"], frame.ack_id ?? "");
      return request === undefined ? undefined : session.emit({ type: "status", handle: request.handle, status: frame.status ?? {} });
    }
    case ServerAction.Presence: {
      const request = session.requests.take(frame.rid, ["presence"], frame.topic ?? "");
      return request === undefined ? undefined : session.emit({
        type: "presence", handle: request.handle, count: frame.count ?? 0, ids: frame.ids ?? [], truncated: frame.truncated === true,
      });
    }
    case ServerAction.Join:
    case ServerAction.Leave:
      // A member of a topic subscribed with join_leave came or went (spec §15.3); events of a topic
      // subscribed without it, or no longer subscribed (late frames), are dropped (spec/traces join-leave-restored).
      return frame.topic === undefined || frame.id === undefined || frame.id === "" || !session.joinLeave.has(frame.topic)
        ? undefined
        : session.emit({ type: frame.action, topic: frame.topic, id: frame.id });
    case ServerAction.Pong:
      if (frame.rid !== undefined && frame.rid === session.refreshRid) session.refreshRid = "";
      return undefined;
    case ServerAction.Error:
      return routeError(session, frame);
    default:
      return undefined; // `published`, `ack_cancelled`, `server_message_sent`: nothing waits for them
  }
}

function deliver(session: ClientSession, frame: ServerFrame): void {
  const topic = frame.topic ?? "";
  const ackId = frame.action === ServerAction.PublishAck ? frame.ack_id ?? "" : "";
  const message = unwrapDelivery(frame);
  const withAck = ackId === "" ? {} : { ack_id: ackId };
  if (ackId !== "" && topic.startsWith(directTopicPrefix(session.options.id))) {
    // A direct message with acknowledgement, for the OnId handler (spec §6.4).
    session.emit({ type: "direct", data: message.data, from: message.from, ...withAck });
  } else if (session.topics.has(topic)) {
    const offset = frame.offset;
    const position = session.positions.get(topic);
    if (offset !== undefined && position !== undefined) {
      // The latest, not the highest: a new epoch restarts at 1. No dedup by offset either: the server
      // sends no duplicate at a recovery's seam (spec §14.3).
      session.positions.set(topic, { offset, epoch: position.epoch });
    }
    session.emit({ type: "delivery", topic, data: message.data, from: message.from, ...withAck, ...(offset === undefined ? {} : { offset }) });
  } else if (ackId !== "") {
    session.send(session.frames.ack(ackId, false, NO_SUBSCRIBER)); // spec §6.1
  }
}

function ackResponses(session: ClientSession, ackId: string, responses: { client_id: string; success: boolean; error?: string }[], final: boolean): void {
  const pending = session.acks.byAckId(ackId);
  if (pending === undefined) {
    return;
  }
  for (const response of responses) {
    if (pending.answered.has(response.client_id)) {
      continue;
    }
    pending.answered.add(response.client_id);
    const event = { type: "ack_response" as const, handle: pending.handle, client_id: response.client_id, success: response.success };
    session.emit(response.error === undefined ? event : { ...event, error: response.error });
  }
  if (final) {
    session.endAck(pending.handle);
  }
}

function subscribed(session: ClientSession, frame: ServerFrame, request: PendingRequest | undefined): void {
  if (request !== undefined && session.topics.has(request.key)) {
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

/**
 * The history side of a `subscribed` reply (spec §14.2-§14.3): its position becomes the topic's (a reply
 * without one, e.g. Redis unreachable, keeps the old one, so the next restore still tries to recover), and
 * a history-aware reply (with `epoch` or `recovered`) is reported as a `subscription` event, before the
 * handles it confirms.
 */
function streamPosition(session: ClientSession, frame: ServerFrame, request: PendingRequest): void {
  const { offset, epoch } = frame;
  const position = offset !== undefined && epoch !== undefined ? { offset, epoch } : undefined;
  if (position !== undefined) {
    session.positions.set(request.key, position);
  }
  if (epoch !== undefined || frame.recovered !== undefined) {
    session.emit({
      type: "subscription", topic: request.key, recovering: request.recovering === true, recovered: frame.recovered === true,
      ...position,
    });
  }
}

/** The answer to a `history` read (spec §14.4), matched by `rid` (else by topic). */
function historyAnswer(session: ClientSession, frame: ServerFrame): void {
  const request = session.requests.take(frame.rid, ["history"], frame.topic ?? "");
  if (request !== undefined) {
    session.emit({
      type: "history", handle: request.handle, publications: frame.publications ?? [], offset: frame.offset ?? 0, epoch: frame.epoch ?? "",
    });
  }
}

/** An error frame goes to the request it answers: by `rid`, else by ack ID, else by topic (spec §11.2). */
function routeError(session: ClientSession, frame: ServerFrame): void {
  const text = frame.error ?? "error";
  const code = frame.code ?? "";
  session.detail = text;
  if (frame.rid !== undefined && frame.rid === session.refreshRid) {
    session.refreshRid = "";
    session.detail = `the server refused the refreshed token: ${text}`;
    return session.emit({ type: "error", error: "AuthError", code: CLOSE_UNAUTHORIZED });
  }
  const request = frame.rid === undefined ? undefined : session.requests.take(frame.rid, ALL_KINDS, "");
  if (request !== undefined) {
    return refused(session, request, code, frame.topic);
  }
  const pending = frame.ack_id === undefined ? undefined : session.acks.byAckId(frame.ack_id);
  if (pending !== undefined) {
    session.emit({ type: "refused", handle: pending.handle, error: "ServerErrorReply", code });
    return session.endAck(pending.handle);
  }
  session.emit(errorEvent(code, frame.topic));
}

function refused(session: ClientSession, request: PendingRequest, code: string, topic: string | undefined): void {
  if (request.kind === "subscribe" || request.kind === "restore") {
    session.topics.delete(request.key); // a refused subscription is not kept (spec §10.4)
    session.joinLeave.delete(request.key);
    session.positions.delete(request.key);
  }
  // A subscription the server now refuses on restore (spec §10) is dropped; the restore goes on (and may
  // end: connected), then the refusal is reported: to the Subscribe calls waiting for it, else to OnError.
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

/** The `error` event of an `error` frame that answers no pending request (OnError). */
function errorEvent(code: string, topic: string | undefined): CoreEvent {
  return { type: "error", error: "ServerErrorReply", ...(code === "" ? {} : { code }), ...(topic === undefined ? {} : { topic }) };
}
