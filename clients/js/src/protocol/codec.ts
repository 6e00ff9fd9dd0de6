/**
 * Client-side codec: the frames a client sends, and the checked decoding of what the server sends
 * (spec/protocol.md §2-§8). No I/O here: text in, frames out.
 * @module
 */

import { ProtocolError } from "../errors.js";
import { ClientAction } from "./actions.js";
import type { AckResponse, Message, ServerFrame } from "./types.js";

/**
 * Encodes the frames of one client. Every frame carries `from` for servers that still read it (the
 * original KSPS trusts it; ksps uses the registered ID, spec §4.2). `data` that JSON cannot carry (a BigInt,
 * a cycle) makes the encoder throw a `TypeError`, so the caller sees it at once.
 */
export class FrameEncoder {
  constructor(private readonly clientId: string) {}

  /**
   * Registration, the liveness probe of an open connection (spec §3.1), and the in-place refresh of the
   * token (spec §10). `token` and `rid` are left out when empty.
   */
  ping(token = "", rid = ""): string {
    return this.encode(withOptional({ action: ClientAction.Ping }, token, rid));
  }

  /** `rid` matches the server's refusal to this request (spec §11). */
  subscribe(topic: string, rid = ""): string {
    return this.encode(withOptional({ action: ClientAction.Subscribe, topic }, "", rid));
  }

  unsubscribe(topic: string, rid = ""): string {
    return this.encode(withOptional({ action: ClientAction.Unsubscribe, topic }, "", rid));
  }

  publish(topic: string, data: unknown): string {
    return this.encode({ action: ClientAction.Publish, topic, data });
  }

  /** A direct message to one client, or to the server's OnID handler (spec §5.1). */
  direct(targetId: string, data: unknown): string {
    return this.encode({ action: ClientAction.DirectMessage, to: targetId, data });
  }

  /** Publish with acknowledgement; always asks for `ack_progress` frames (spec §6.1-§6.3). */
  publishWithAck(topic: string, data: unknown, ackId: string, timeoutMs: number): string {
    return this.encode({
      action: ClientAction.PublishWithAck, topic, data, ack_id: ackId, timeout: timeoutMs, progress: true,
    });
  }

  /** A direct message with acknowledgement (spec §6.4). */
  publishToIdWithAck(targetId: string, data: unknown, ackId: string, timeoutMs: number): string {
    return this.encode({
      action: ClientAction.PublishToIdWithAck, to: targetId, data, ack_id: ackId, timeout: timeoutMs,
      progress: true,
    });
  }

  /** A subscriber's answer to a `publish_ack` (spec §6.1). */
  ack(serverAckId: string, success: boolean, error: string): string {
    const body: AckResponse = { ack_id: serverAckId, client_id: this.clientId, success };
    if (error !== "") {
      body.error = error;
    }
    return this.encode({ action: ClientAction.Ack, ack_id: serverAckId, data: body });
  }

  getAckStatus(ackId: string): string {
    return this.encode({ action: ClientAction.GetAckStatus, ack_id: ackId });
  }

  cancelAck(ackId: string): string {
    return this.encode({ action: ClientAction.CancelAck, ack_id: ackId });
  }

  /** Ask the server to relay `data` to another server (spec §8.1). */
  publishToServer(address: string, data: unknown, secure: boolean): string {
    return this.encode({ action: ClientAction.PublishToServer, to: address, data, status: { is_secure: secure } });
  }

  private encode(frame: Record<string, unknown>): string {
    frame["from"] = this.clientId;
    return JSON.stringify(frame);
  }
}

function withOptional(frame: Record<string, unknown>, token: string, rid: string): Record<string, unknown> {
  if (token !== "") {
    frame["token"] = token;
  }
  if (rid !== "") {
    frame["rid"] = rid;
  }
  return frame;
}

/**
 * Decodes one WebSocket message from the server into its frames. The server sends one object per message
 * (spec §1.3); an array of objects is accepted too, as the original clients did. Throws
 * {@link ProtocolError} for anything else.
 */
export function decodeServerFrames(text: string): ServerFrame[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`invalid JSON from the server: ${(error as Error).message}`, { cause: error });
  }
  return Array.isArray(value) ? value.map(checkFrame) : [checkFrame(value)];
}

/**
 * The message inside a `publish` or `publish_ack` delivery: the server nests the payload as
 * `{"data": PAYLOAD, "from": SENDER}` (spec §4.2); a payload that is not nested is taken as is.
 */
export function unwrapDelivery(frame: ServerFrame): Message {
  const outer = frame.data;
  if (isObject(outer) && "data" in outer) {
    const nestedFrom = typeof outer["from"] === "string" ? outer["from"] : "";
    return { data: outer["data"], from: frame.from ?? nestedFrom };
  }
  return { data: outer ?? null, from: frame.from ?? "" };
}

/** The message of a flat `direct_message` (spec §5.1). */
export function directMessage(frame: ServerFrame): Message {
  return { data: frame.data ?? null, from: frame.from ?? "" };
}

/** Reads one AckResponse (an `ack_progress` payload or a `responses` entry); undefined when malformed. */
export function readAckResponse(value: unknown, fallbackClientId = ""): AckResponse | undefined {
  if (!isObject(value)) {
    return undefined;
  }
  const clientId = typeof value["client_id"] === "string" ? value["client_id"] : fallbackClientId;
  if (clientId === "") {
    return undefined;
  }
  const response: AckResponse = {
    ack_id: typeof value["ack_id"] === "string" ? value["ack_id"] : "",
    client_id: clientId,
    success: value["success"] === true,
  };
  if (typeof value["error"] === "string" && value["error"] !== "") {
    response.error = value["error"];
  }
  return response;
}

const STRING_MEMBERS = ["topic", "from", "to", "id", "error", "ack_id", "rid", "code"] as const;

function checkFrame(value: unknown): ServerFrame {
  if (!isObject(value)) {
    throw new ProtocolError("invalid frame from the server: expected a JSON object");
  }
  const action = value["action"];
  if (typeof action !== "string" || action === "") {
    throw new ProtocolError("invalid frame from the server: missing action");
  }
  const frame: ServerFrame = { action };
  for (const key of STRING_MEMBERS) {
    const member = value[key];
    if (member === undefined || member === null) {
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
  if (status !== undefined) {
    frame.status = status;
  }
  const responses = readResponses(value["responses"]);
  if (responses !== undefined) {
    frame.responses = responses;
  }
  return frame;
}

function readStatus(value: unknown): Record<string, boolean> | undefined {
  if (!isObject(value)) {
    return undefined;
  }
  const status: Record<string, boolean> = {};
  for (const [clientId, received] of Object.entries(value)) {
    if (clientId !== "__proto__") {
      status[clientId] = received === true;
    }
  }
  return status;
}

function readResponses(value: unknown): Record<string, AckResponse> | undefined {
  if (!isObject(value)) {
    return undefined;
  }
  const responses: Record<string, AckResponse> = {};
  for (const [clientId, entry] of Object.entries(value)) {
    const response = readAckResponse(entry, clientId);
    if (response !== undefined && clientId !== "__proto__") {
      // The map key is the responder's ID (spec §2.3).
      responses[clientId] = response;
    }
  }
  return responses;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
