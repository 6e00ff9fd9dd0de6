/**
 * Topic history and recovery on the client (spec/protocol.md §14): the public types of `History`,
 * `Position` and the `OnSubscribed` hook, and the checks of their arguments (a wrong type is a `TypeError`
 * thrown before anything is sent).
 * @module
 */

import type { StreamPosition } from "./core/types.js";
import type { Message } from "./protocol/types.js";

export type { StreamPosition } from "./core/types.js";

/** What `History(topic, ...)` resolves to (spec §14.4). */
export interface HistoryPage {
  /** The kept publications asked for, each with its `offset`: oldest first, or newest first with `reverse`. */
  publications: Message[];
  /** The offset of the topic's latest publication at the read (0 before the first). */
  offset: number;
  /** The stream's epoch: when it differs from the `since` given, `publications` is empty. */
  epoch: string;
}

/** Options of `History`. */
export interface HistoryOptions {
  /** Only publications after this position (before it with `reverse`); another epoch gives none. */
  since?: StreamPosition;
  /** At most this many publications; 0 asks for the position only. Default: the server's cap. */
  limit?: number;
  /** Newest first (and, with `since`, those before it: paging backwards). Default false. */
  reverse?: boolean;
}

/**
 * What the `OnSubscribed` hook receives for a topic with history, on its first subscribe and on every
 * restore after a reconnection (spec §14.3).
 */
export interface SubscriptionInfo {
  /** The stream's position when subscribing; absent when the server could not tell (e.g. Redis down). */
  position?: StreamPosition;
  /** The subscribe asked to recover from a position (`since`, or the remembered one on a restore). */
  recovering: boolean;
  /**
   * Nothing was missed: every publication after the position was delivered before this. When false while
   * `recovering`, reload the state from its source of truth, then use the deliveries that follow.
   */
  recovered: boolean;
}

/** Called for each subscription to a topic with history, first subscribe and every restore. */
export type SubscribedHandler = (topic: string, info: SubscriptionInfo) => void;

/** Checks a `since` argument: undefined, or `{offset: integer >= 0, epoch: string}`; returns a copy. */
export function checkPosition(what: string, value: unknown): StreamPosition | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be a stream position {offset, epoch}, got ${describe(value)}`);
  }
  const { offset, epoch } = value as Record<string, unknown>;
  if (!isCount(offset)) {
    throw new TypeError(`${what}.offset must be an integer >= 0, got ${describe(offset)}`);
  }
  if (typeof epoch !== "string") {
    throw new TypeError(`${what}.epoch must be a string, got ${describe(epoch)}`);
  }
  return { offset, epoch };
}

/** Checks the options of `History`; returns them with only the members given. */
export function checkHistoryOptions(value: unknown): HistoryOptions {
  if (value === undefined) {
    return {};
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`the History options must be an object {since, limit, reverse}, got ${describe(value)}`);
  }
  const options = value as Record<string, unknown>;
  const checked: HistoryOptions = {};
  const since = checkPosition("since", options["since"]);
  if (since !== undefined) checked.since = since;
  const limit = options["limit"];
  if (limit !== undefined) {
    if (!isCount(limit)) {
      throw new TypeError(`limit must be an integer >= 0, got ${describe(limit)}`);
    }
    checked.limit = limit;
  }
  const reverse = options["reverse"];
  if (reverse !== undefined) {
    if (typeof reverse !== "boolean") {
      throw new TypeError(`reverse must be a boolean, got ${describe(reverse)}`);
    }
    checked.reverse = reverse;
  }
  return checked;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}
