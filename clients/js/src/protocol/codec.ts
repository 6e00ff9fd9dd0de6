/**
 * Client-side decoding: the checked decoding of what the server sends
 * (spec/protocol.md §2-§8). No I/O here: text in, frames out (the frames a client sends are built by core/frames.ts).
 * @module
 */

import { ProtocolError } from "../errors.js";
import type { AckResponse, Message, ServerFrame } from "./types.js";

/**
 * Decodes one WebSocket message from the server into its frames. The server sends one object per message
 * (spec §1.3); an array of objects is accepted too, as the original clients did. Throws
 * {@link ProtocolError} for anything else.
 */
export function decodeServerFrames(text: string): ServerFrame[] {
  return parseServerMessage(text).map(checkFrame);
}

/**
 * Parses one WebSocket message from the server into the frames it carries, unchecked (the core checks
 * each one): one object per message (spec §1.3), or an array of them as the original clients accepted.
 * Throws {@link ProtocolError} for text that is not JSON.
 */
export function parseServerMessage(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`invalid JSON from the server: ${(error as Error).message}`, { cause: error });
  }
  return Array.isArray(value) ? value : [value];
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

/** Checks one decoded frame from the server; throws {@link ProtocolError} when it breaks spec §2. */
export function checkFrame(value: unknown): ServerFrame {
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
  readPresence(value, frame);
  readHistory(value, frame);
  const responses = readResponses(value["responses"]);
  if (responses !== undefined) {
    frame.responses = responses;
  }
  return frame;
}

/** The members of a `presence` reply (spec §15.2); wrong types read as absent. */
function readPresence(value: Record<string, unknown>, frame: ServerFrame): void {
  const count = value["count"];
  if (typeof count === "number" && Number.isInteger(count)) {
    frame.count = count;
  }
  const ids = value["ids"];
  if (Array.isArray(ids)) {
    frame.ids = ids.filter((id): id is string => typeof id === "string");
  }
  if (value["truncated"] === true) {
    frame.truncated = true;
  }
}

/**
 * The history members (spec §14.2-§14.4); a wrong type reads as absent, as the original clients ignore
 * what they do not know. An offset is a non-negative integer.
 */
function readHistory(value: Record<string, unknown>, frame: ServerFrame): void {
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
      offset: isOffset(entry["offset"]) ? entry["offset"] : 0,
    }));
  }
}

function isOffset(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
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
