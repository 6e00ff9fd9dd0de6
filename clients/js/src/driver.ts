/**
 * The thin I/O driver around the sans-I/O core ({@link ClientSession}): it opens the WebSocket the core
 * asks for, feeds it what arrives, arms its one timer, fetches tokens, watches liveness, and hands the
 * core's events to the client facade. Browsers and Node share it; only the WebSocket class differs.
 * @module
 */

import { ClientSession } from "./core/session.js";
import type { CoreEvent, Input, Output } from "./core/types.js";
import { Liveness } from "./keepalive.js";
import type { ResolvedOptions } from "./options.js";
import { ClientAction } from "./protocol/actions.js";
import { parseServerMessage } from "./protocol/codec.js";
import { TokenSource } from "./tokens.js";
import type { Transport, TransportOpener } from "./transport.js";
import { upgradeFailureHint } from "./upgrade-hint.js";

/** Ms `Close()` waits for the closing handshake before dropping the socket (2 s, as the Python and Go clients). */
export const CLOSE_TIMEOUT_MS = 2000;

const clock = (): number => (typeof performance === "object" ? performance.now() : Date.now());

/** Runs one {@link ClientSession} over real WebSockets and timers. */
export class SessionDriver {
  readonly core: ClientSession;
  private readonly tokens: TokenSource;
  private transport: Transport | undefined;
  /** Bumped whenever the core is done with a connection: late callbacks of older ones are ignored. */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private liveness: Liveness | undefined;
  private closing: Promise<void> | undefined;
  private probes = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly openTransport: TransportOpener,
    private readonly onEvent: (event: CoreEvent, cause: Input | undefined, detail: string) => void,
    newAckId: () => string,
  ) {
    let rids = 0;
    this.tokens = new TokenSource(options.token, options.getToken);
    this.core = new ClientSession(
      {
        id: options.id, url: options.url, autorestart: options.autoRestart, reconnect: options.reconnect,
        reconnectInitialDelay: options.reconnectInitialDelay, reconnectFactor: options.reconnectFactor,
        reconnectMaxDelay: options.reconnectMaxDelay, offlineQueueSize: options.offlineQueueSize,
        offlineQueuePolicy: options.offlineQueuePolicy, connectTimeout: options.connectTimeout,
        token: options.token, refreshableToken: this.tokens.refreshable,
      },
      { random: Math.random, newRid: () => String(++rids), newAckId },
    );
  }

  /**
   * Feeds one input and carries out the outputs, in order; returns them. Re-entrant: a callback run by an
   * output may feed more (the core's state is settled before any output runs). Throws what encoding a
   * frame threw (data JSON cannot carry), after the other outputs ran.
   */
  input(input: Input): Output[] {
    const outputs = this.core.handle(input, clock());
    let failure: unknown;
    for (const output of outputs) {
      try {
        this.perform(output, input);
      } catch (error) {
        failure ??= error;
      }
    }
    this.armTimer();
    if (failure !== undefined) {
      throw failure;
    }
    return outputs;
  }

  /** Closes for good; resolves once the socket is closed (or dropped after {@link CLOSE_TIMEOUT_MS}). */
  close(): Promise<void> {
    if (!this.core.closed) {
      this.input({ type: "close" });
    }
    return this.closing ?? Promise.resolve();
  }

  private perform(output: Output, cause: Input): void {
    switch (output.type) {
      case "open":
        return this.open(output.url);
      case "send":
        return this.transport?.send(JSON.stringify(output.frame));
      case "close":
        return this.closeTransport(output.code, output.reason);
      case "event":
        return this.event(output.event, cause);
    }
  }

  private open(url: string): void {
    const generation = ++this.generation;
    const current = (): boolean => generation === this.generation;
    let opened = false;
    this.tokens.fetch().then(
      (token) => {
        if (!current()) return;
        try {
          this.transport = this.openTransport(url, {
            onOpen: () => {
              opened = true;
              if (current()) this.input({ type: "opened", token });
            },
            onMessage: (text) => current() && this.received(text),
            onClose: (code, reason, detail) => current() && this.lost(code, reason, detail || (opened ? "" : upgradeFailureHint(url) ?? "")),
          });
        } catch (error) {
          this.input({ type: "lost", code: null, reason: `invalid URL ${url}: ${(error as Error).message}` });
        }
      },
      (error: unknown) => current() && this.input({ type: "lost", code: null, reason: `GetToken failed: ${errorMessage(error)}` }),
    );
  }

  private received(text: string): void {
    this.liveness?.received();
    let values: unknown[];
    try {
      values = parseServerMessage(text);
    } catch (error) {
      this.onEvent({ type: "error", error: "ProtocolError" }, undefined, (error as Error).message);
      return;
    }
    for (const frame of values) {
      this.input({ type: "frame", frame });
    }
  }

  private lost(code: number, reason: string, detail: string): void {
    this.detach();
    // 1005 and 1006 are not sent on the wire: they mean that no close frame came (RFC 6455 §7.1.5).
    const noFrame = code === 1005 || code === 1006;
    this.input(noFrame ? { type: "lost", code: null, reason: detail || null } : { type: "lost", code, reason });
  }

  /** The core is done with the connection: close it, and resolve `Close()` once it is gone. */
  private closeTransport(code: number, reason: string): void {
    const transport = this.transport;
    this.detach();
    if (transport === undefined) {
      return;
    }
    this.closing = new Promise<void>((resolve) => {
      const dropped = setTimeout(() => {
        transport.abort();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      transport.onceClosed(() => {
        clearTimeout(dropped);
        resolve();
      });
    });
    transport.close(code, reason);
  }

  private detach(): void {
    this.generation += 1;
    this.transport = undefined;
    this.liveness?.stop();
    this.liveness = undefined;
    clearTimeout(this.refreshTimer);
  }

  private event(event: CoreEvent, cause: Input): void {
    if (event.type === "connected") {
      this.watchLiveness();
      this.scheduleRefresh();
    }
    this.onEvent(event, cause, this.core.detail);
  }

  private watchLiveness(): void {
    const transport = this.transport;
    if (this.options.keepaliveInterval <= 0 || transport === undefined) {
      return;
    }
    this.liveness = new Liveness(
      this.options.keepaliveInterval, this.options.keepaliveTimeout, clock,
      () => transport.send(JSON.stringify({ action: ClientAction.Ping, from: this.options.id, rid: `k${++this.probes}` })),
      (silent) => {
        this.detach();
        transport.abort();
        this.input({ type: "lost", code: null, reason: `keepalive timeout: nothing received for ${silent} ms` });
      },
    );
  }

  /** Plans the in-place refresh of the current token shortly before its `exp` (GetToken only, spec §10). */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const delay = this.tokens.refreshIn();
    if (delay !== undefined) {
      this.refreshTimer = setTimeout(() => void this.refresh(), delay);
    }
  }

  private async refresh(): Promise<void> {
    const generation = this.generation;
    const before = this.tokens.expiry();
    let token: string;
    try {
      token = await this.tokens.fetch();
    } catch (error) {
      // The server closes with 4004 at `exp`, and the reconnection asks GetToken again.
      this.onEvent({ type: "error", error: "ConnectionFailed" }, undefined, `GetToken failed while refreshing the token: ${errorMessage(error)}`);
      return;
    }
    const after = this.tokens.expiry();
    if (generation !== this.generation || !this.core.ready || (before !== undefined && (after === undefined || after <= before))) {
      return; // gone meanwhile, or not a newer token: wait for 4004 and reconnect with a new one
    }
    this.input({ type: "refresh_token", token });
    this.scheduleRefresh();
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = this.core.deadline;
    if (deadline !== null) {
      this.timer = setTimeout(() => this.input({ type: "timer" }), Math.max(0, deadline - clock()));
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
