/**
 * The client's lifecycle events: the `On...` option hooks and `client.on(...)` listeners.
 *
 * A hook or listener never breaks the client: what it throws is logged with `console.error`.
 * @module
 */

import type { KspsError } from "./errors.js";
import type { ClientOptions } from "./options.js";

/** The events of a client and the arguments their listeners receive. */
export interface ClientEventMap {
  /** A connection is registered and its subscriptions restored (the first and every reconnection). */
  connect: [];
  /** A ready connection was lost; `code` is null when no close frame came. */
  disconnect: [code: number | null, reason: string | null];
  /** A failure no caller saw as an exception (callback error, offline-queue overflow, error frame...). */
  error: [error: KspsError];
  /** The client is closed for good. */
  close: [];
}

/** The name of a client event. */
export type ClientEvent = keyof ClientEventMap;

/** A listener of one client event. */
export type ClientEventListener<E extends ClientEvent> = (...args: ClientEventMap[E]) => void;

type ListenerSets = { [E in ClientEvent]: Set<ClientEventListener<E>> };

/** The hooks and listeners of one client. */
export class ClientEvents {
  private readonly listeners: ListenerSets = {
    connect: new Set(),
    disconnect: new Set(),
    error: new Set(),
    close: new Set(),
  };

  constructor(options: ClientOptions) {
    const onConnect = options.OnConnect ?? options.OnOpen;
    if (onConnect !== undefined) {
      this.on("connect", onConnect);
    }
    if (options.OnDisconnect !== undefined) {
      this.on("disconnect", options.OnDisconnect);
    }
    if (options.OnError !== undefined) {
      this.on("error", options.OnError);
    }
    if (options.OnClose !== undefined) {
      this.on("close", options.OnClose);
    }
  }

  /** Adds a listener; returns the function that removes it. */
  on<E extends ClientEvent>(event: E, listener: ClientEventListener<E>): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<E extends ClientEvent>(event: E, listener: ClientEventListener<E>): void {
    this.listeners[event].delete(listener);
  }

  /** Calls the listeners of an event, in the order they were added. */
  emit<E extends ClientEvent>(event: E, ...args: ClientEventMap[E]): void {
    const listeners = [...this.listeners[event]] as ((...values: ClientEventMap[E]) => void)[];
    if (listeners.length === 0 && event === "error") {
      console.warn("ksps client:", (args[0] as KspsError).message);
    }
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`ksps client: a ${event} listener threw`, error);
      }
    }
  }
}
