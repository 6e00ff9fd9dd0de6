/**
 * The transport: one WebSocket connection that moves text frames, behind a three-member interface.
 * Browsers' `WebSocket` and the `ws` package share the WHATWG API this adapter uses.
 * @module
 */

/** The part of the WHATWG `WebSocket` API the client uses (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What a transport reports. Exactly one `onClose` ends every transport, whether it opened or not. */
export interface TransportHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  /** The connection ended. `code` is the close code (1006 when none came), `detail` the error seen, if any. */
  onClose(code: number, reason: string, detail: string): void;
}

/** One connection, as the session uses it. */
export interface Transport {
  send(text: string): void;
  /** Start the closing handshake; `onClose` follows. */
  close(code: number, reason: string): void;
  /** Drop the connection without a handshake (a dead peer would never answer it). */
  abort(): void;
  /** Calls `callback` once the connection is gone (at once if it is), whoever ends it. */
  onceClosed(callback: () => void): void;
}

/** Opens a transport to a URL. Throws when the URL is not a valid WebSocket URL. */
export type TransportOpener = (url: string, handlers: TransportHandlers) => Transport;

interface WsEventTargetSocket {
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { message?: unknown; error?: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate?: () => void;
}

const decoder = typeof TextDecoder === "function" ? new TextDecoder() : undefined;

/** A {@link TransportOpener} over a WHATWG-style WebSocket class. */
export function webSocketOpener(WebSocketClass: WebSocketConstructor): TransportOpener {
  return (url, handlers) => {
    const socket = new WebSocketClass(url) as unknown as WsEventTargetSocket;
    // Text frames arrive as strings everywhere; binary ones as ArrayBuffer rather than a browser Blob.
    socket.binaryType = "arraybuffer";
    let detail = "";
    let closed = false;
    const whenClosed: (() => void)[] = [];
    const finish = (code: number, reason: string): void => {
      if (!closed) {
        closed = true;
        handlers.onClose(code, reason, detail);
        for (const callback of whenClosed.splice(0)) callback();
      }
    };
    socket.onopen = () => handlers.onOpen();
    socket.onmessage = (event) => {
      const text = toText(event.data);
      if (text !== undefined) {
        handlers.onMessage(text);
      }
    };
    socket.onerror = (event) => {
      // Browsers say nothing more; `ws` gives the reason (for example "connect ECONNREFUSED ...").
      detail = typeof event.message === "string" ? event.message : "";
    };
    socket.onclose = (event) => finish(event.code, event.reason);
    return {
      send: (text) => socket.send(text),
      close: (code, reason) => {
        try {
          socket.close(code, reason);
        } catch {
          socket.close();
        }
      },
      abort: () => {
        if (typeof socket.terminate === "function") {
          socket.terminate();
        } else {
          socket.close();
        }
        // A browser reports the close only after the handshake that a dead peer never answers.
        finish(1006, "");
      },
      onceClosed: (callback) => (closed ? callback() : void whenClosed.push(callback)),
    };
  };
}

function toText(data: unknown): string | undefined {
  if (typeof data === "string") {
    return data;
  }
  if (decoder === undefined) {
    return undefined;
  }
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return decoder.decode(data);
  }
  return undefined;
}
