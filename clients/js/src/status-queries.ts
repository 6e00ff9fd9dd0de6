/**
 * `get_ack_status` round trips (spec §6.5): each query waits for the server's `ack_status` answer with the
 * same ack ID. The server answers a connection's frames in order, so answers to several queries for one ID
 * come back in the order of the queries.
 * @module
 */

import type { FrameEncoder } from "./protocol/codec.js";

/** Ms a status query waits for its answer before falling back to what the client knows. */
export const STATUS_TIMEOUT_MS = 2000;

type Answer = (status: Record<string, boolean> | undefined) => void;

interface Sender {
  readonly isConnected: boolean;
  send(text: string): boolean;
}

/** The status queries waiting for an answer, by ack ID. */
export class StatusQueries {
  private readonly waiting = new Map<string, Answer[]>();

  constructor(
    private readonly connection: Sender,
    private readonly encoder: FrameEncoder,
  ) {}

  /**
   * Asks the server; resolves to the status map, or undefined when not connected, not answered in time, or
   * answered without status (the request is unknown or finished).
   */
  query(ackId: string): Promise<Record<string, boolean> | undefined> {
    if (!this.connection.isConnected) {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(undefined), STATUS_TIMEOUT_MS);
      const answer: Answer = (status) => {
        clearTimeout(timer);
        this.remove(ackId, answer);
        resolve(status);
      };
      this.answersFor(ackId).push(answer);
      if (!this.connection.send(this.encoder.getAckStatus(ackId))) {
        answer(undefined);
      }
    });
  }

  /** An `ack_status` frame arrived. */
  answered(ackId: string, status: Record<string, boolean> | undefined): void {
    const answer = this.waiting.get(ackId)?.[0];
    if (answer !== undefined) {
      answer(status !== undefined && Object.keys(status).length > 0 ? status : undefined);
    }
  }

  /** The connection is gone: no answer will come. */
  connectionLost(): void {
    for (const answers of [...this.waiting.values()]) {
      for (const answer of [...answers]) {
        answer(undefined);
      }
    }
  }

  private answersFor(ackId: string): Answer[] {
    let answers = this.waiting.get(ackId);
    if (answers === undefined) {
      answers = [];
      this.waiting.set(ackId, answers);
    }
    return answers;
  }

  private remove(ackId: string, answer: Answer): void {
    const answers = this.waiting.get(ackId);
    if (answers === undefined) {
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
}
