/**
 * Routes each frame from the server to the part of the client it concerns: topic deliveries and direct
 * messages to the callbacks, ack progress and results to the ack handles, status answers to their
 * queries, error frames to `OnError` (spec §3.3 of ksps-wire, spec/protocol.md §4-§7).
 * @module
 */

import type { AckTable } from "./acks.js";
import type { CallbackDispatcher } from "./dispatch.js";
import type { KspsError } from "./errors.js";
import { ServerAction, directTopicPrefix } from "./protocol/actions.js";
import { directMessage, readAckResponse, unwrapDelivery } from "./protocol/codec.js";
import type { ServerFrame } from "./protocol/types.js";
import type { PendingRequests } from "./requests.js";
import { errorReply } from "./session.js";
import type { StatusQueries } from "./status-queries.js";
import type { SubscriptionRegistry } from "./subscriptions.js";

/** The parts of one client that frames are routed to. */
export interface InboundTargets {
  readonly clientId: string;
  readonly subscriptions: SubscriptionRegistry;
  readonly dispatcher: CallbackDispatcher;
  readonly acks: AckTable;
  readonly statusQueries: StatusQueries;
  readonly requests: PendingRequests;
  reportError(error: KspsError): void;
}

/** Routes one frame. Frames the client has no use for (`published`, `subscribed`...) are ignored. */
export function routeFrame(frame: ServerFrame, to: InboundTargets): void {
  switch (frame.action) {
    case ServerAction.Publish:
      deliverToTopic(frame, "", to);
      break;
    case ServerAction.PublishAck:
      deliverWithAck(frame, to);
      break;
    case ServerAction.DirectMessage: {
      const handler = to.subscriptions.idHandler;
      if (handler !== undefined) {
        to.dispatcher.deliver(handler, directMessage(frame), "");
      }
      break;
    }
    case ServerAction.AckProgress: {
      const response = readAckResponse(frame.data);
      if (response !== undefined) {
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
      to.requests.answered(frame.rid ?? "", undefined, frame.topic ?? "");
      break;
    case ServerAction.Error:
      routeError(frame, to);
      break;
    default:
      break;
  }
}

/**
 * An error frame goes to the request it answers (spec §11): by `rid` (Subscribe), else by the client's ack
 * ID (PublishWithAck); the rest, e.g. a refused Publish matched by its `topic`, to OnError.
 */
function routeError(frame: ServerFrame, to: InboundTargets): void {
  const error = errorReply(frame);
  if (frame.rid !== undefined && to.requests.answered(frame.rid, error)) {
    return;
  }
  const handle = frame.ack_id === undefined ? undefined : to.acks.get(frame.ack_id);
  if (handle !== undefined) {
    handle._fail(error);
    return;
  }
  to.reportError(error);
}

function deliverToTopic(frame: ServerFrame, ackId: string, to: InboundTargets): void {
  const subscription = to.subscriptions.get(frame.topic ?? "");
  if (subscription === undefined) {
    to.dispatcher.noSubscriber(ackId);
  } else {
    to.dispatcher.deliver(subscription, unwrapDelivery(frame), ackId);
  }
}

function deliverWithAck(frame: ServerFrame, to: InboundTargets): void {
  const ackId = frame.ack_id ?? "";
  if (!(frame.topic ?? "").startsWith(directTopicPrefix(to.clientId))) {
    deliverToTopic(frame, ackId, to);
    return;
  }
  // A direct message with acknowledgement goes to the OnId handler (spec §6.4).
  const handler = to.subscriptions.idHandler;
  if (handler === undefined) {
    to.dispatcher.noSubscriber(ackId);
  } else {
    to.dispatcher.deliver(handler, unwrapDelivery(frame), ackId);
  }
}
