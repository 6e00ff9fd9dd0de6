// A loopback "front door" for the browser test: one port that answers a few fixed paths itself (the test
// page, and the client bundle when the server does not serve one) and passes every other connection,
// WebSocket upgrades included, byte for byte to the ksps server. The page and its WebSocket then share
// one real loopback origin, so the server's origin check and the browser's local-network rules both hold,
// and it survives server restarts (each connection dials the server anew). The history tests use it to cut
// a client's connection, and keep it away, while the server keeps its history (hold/release).
import net from "node:net";

export class FrontDoor {
  /** `pages`: path -> {type, body}; `upstreamPort`: the ksps server's port (read at each connection). */
  static async open(pages, upstreamPort) {
    const door = new FrontDoor(pages, upstreamPort);
    await new Promise((resolve) => door.server.listen(0, "127.0.0.1", resolve));
    door.address = `127.0.0.1:${door.server.address().port}`;
    return door;
  }

  constructor(pages, upstreamPort) {
    this.pages = pages;
    this.upstreamPort = upstreamPort;
    this.sockets = new Set();
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /**
   * Cuts every connection passing through (the server keeps running: a client sees a lost connection) and
   * holds the new ones until `release()`: a client stays away, deterministically, while others publish.
   */
  hold() {
    this.held = this.held ?? [];
    for (const socket of this.sockets) socket.destroy();
  }

  /** Lets the held connections, and the next ones, through. */
  release() {
    const held = this.held ?? [];
    this.held = undefined;
    for (const socket of held) if (!socket.destroyed) this.accept(socket);
  }

  accept(socket) {
    if (this.held !== undefined) {
      this.held.push(socket);
      return;
    }
    this.track(socket);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const [method, path] = head.toString("latin1", 0, end).split(" ");
      const page = method === "GET" ? this.pages[path] : undefined;
      if (page !== undefined) {
        const body = Buffer.from(page.body);
        const headers =
          `HTTP/1.1 200 OK\r\nContent-Type: ${page.type}\r\nContent-Length: ${body.length}\r\n` +
          "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
        socket.end(Buffer.concat([Buffer.from(headers, "latin1"), body]));
        return;
      }
      this.pass(socket, head);
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  }

  pass(socket, head) {
    const upstream = net.connect(this.upstreamPort(), "127.0.0.1");
    this.track(upstream);
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
    const drop = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.on("error", drop);
    upstream.on("close", drop);
    socket.on("close", drop);
  }

  track(socket) {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  async close() {
    for (const socket of [...this.sockets, ...(this.held ?? [])]) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
