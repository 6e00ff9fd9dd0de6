// Starts a real ksps server for the tests: `$KSPS_PYTHON -m ksps.testing` (spec/conformance/ADAPTER.md).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { UNIT, withTimeout } from "./wait.mjs";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const python = process.env.KSPS_PYTHON || "python3";

/**
 * A running server. `stop()` ends it; `restart()` starts it again on the same port; `pause()`/`resume()`
 * freeze the process (SIGSTOP/SIGCONT) to make a connection half-open.
 */
export class TestServer {
  static async start(options = {}) {
    const server = new TestServer(options);
    await server.launch(options.port ?? 0);
    return server;
  }

  constructor(options) {
    this.extraArgs = options.args ?? [];
    this.env = options.env ?? {};
  }

  async launch(port) {
    const args = ["-m", "ksps.testing", "--port", String(port), ...this.extraArgs];
    const proc = spawn(python, args, {
      cwd: repoRoot,
      env: { ...process.env, ...this.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.proc = proc;
    let stderr = "";
    proc.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    this.exited = exited;
    const firstLine = new Promise((resolve) => createInterface({ input: proc.stdout }).once("line", resolve));
    const line = await withTimeout(
      Promise.race([firstLine, exited.then((code) => Promise.reject(new Error(`server exited (${code}): ${stderr}`)))]),
      10 * UNIT,
      "the ksps test server did not start",
    );
    const info = JSON.parse(line);
    this.url = info.url;
    this.address = info.address;
    this.port = info.port;
    this.serverId = info.server_id;
  }

  async stop() {
    if (this.proc === undefined || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      return;
    }
    this.resume();
    // End of standard input stops the server (ADAPTER.md); SIGTERM and SIGKILL only if it does not.
    this.proc.stdin.end();
    const term = setTimeout(() => this.proc.kill("SIGTERM"), 3 * UNIT);
    const kill = setTimeout(() => this.proc.kill("SIGKILL"), 6 * UNIT);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  async restart() {
    await this.stop();
    await this.launch(this.port);
  }

  pause() {
    this.proc.kill("SIGSTOP");
  }

  resume() {
    this.proc.kill("SIGCONT");
  }
}
