/**
 * The frames a client sends, as JSON objects (spec/protocol.md §3-§8). Every frame carries `from` for
 * servers that still read it (the original KSPS trusts it; ksps uses the registered ID, spec §4.2).
 * @module
 */

import { ClientAction } from "../protocol/actions.js";
import type { Frame, StreamPosition } from "./types.js";

/** Builds the frames of one client. */
export class FrameBuilder {
  constructor(private readonly clientId: string) {}

  /** Registration and the in-place token refresh (spec §3.1, §10); `token` left out when empty. */
  ping(rid: string, token = ""): Frame {
    return this.frame(token === "" ? { action: ClientAction.Ping, rid } : { action: ClientAction.Ping, token, rid });
  }

  /** `joinLeave`: also the topic's join/leave events (spec §15.3); `since`: recover from there (spec §14.3). */
  subscribe(topic: string, rid: string, joinLeave = false, since?: StreamPosition): Frame {
    const frame: Frame = { action: ClientAction.Subscribe, topic };
    if (joinLeave) frame["join_leave"] = true;
    if (since !== undefined) frame["since"] = { offset: since.offset, epoch: since.epoch };
    frame["rid"] = rid;
    return this.frame(frame);
  }

  /** A read of a topic's kept publications (spec §14.4): `limit` 0 is valid, `reverse` only when true. */
  history(topic: string, rid: string, since?: StreamPosition, limit?: number, reverse = false): Frame {
    const frame: Frame = { action: ClientAction.History, topic, rid };
    if (since !== undefined) frame["since"] = { offset: since.offset, epoch: since.epoch };
    if (limit !== undefined) frame["limit"] = limit;
    if (reverse) frame["reverse"] = true;
    return this.frame(frame);
  }

  /** The members of a topic (spec §15.2). */
  presence(topic: string, rid: string): Frame {
    return this.frame({ action: ClientAction.Presence, topic, rid });
  }

  unsubscribe(topic: string, rid: string): Frame {
    return this.frame({ action: ClientAction.Unsubscribe, topic, rid });
  }

  /** No `rid` on plain publications: the fast path; a refusal is matched by `topic` (spec §11.1). */
  publish(topic: string, data: unknown): Frame {
    return this.frame({ action: ClientAction.Publish, topic, data });
  }

  direct(to: string, data: unknown): Frame {
    return this.frame({ action: ClientAction.DirectMessage, to, data });
  }

  publishToServer(address: string, data: unknown, secure: boolean): Frame {
    return this.frame({ action: ClientAction.PublishToServer, to: address, data, status: { is_secure: secure } });
  }

  /** Always asks for `ack_progress`, so WaitAny sees the first answer (spec §6.3). */
  publishWithAck(topic: string, data: unknown, ackId: string, timeout: number): Frame {
    return this.frame({ action: ClientAction.PublishWithAck, topic, data, ack_id: ackId, timeout, progress: true });
  }

  publishToIdWithAck(to: string, data: unknown, ackId: string, timeout: number): Frame {
    return this.frame({ action: ClientAction.PublishToIdWithAck, to, data, ack_id: ackId, timeout, progress: true });
  }

  /** A subscriber's answer to a `publish_ack` (spec §6.1). */
  ack(serverAckId: string, success: boolean, error = ""): Frame {
    const data: Frame = { ack_id: serverAckId, client_id: this.clientId, success };
    if (error !== "") {
      data["error"] = error;
    }
    return this.frame({ action: ClientAction.Ack, ack_id: serverAckId, data });
  }

  getAckStatus(ackId: string, rid: string): Frame {
    return this.frame({ action: ClientAction.GetAckStatus, ack_id: ackId, rid });
  }

  cancelAck(ackId: string): Frame {
    return this.frame({ action: ClientAction.CancelAck, ack_id: ackId });
  }

  private frame(frame: Frame): Frame {
    frame["from"] = this.clientId;
    return frame;
  }
}
