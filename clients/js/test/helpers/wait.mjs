// Waiting on events with timeouts. Every timeout is a multiple of one tunable unit.

/** The base time unit of the tests, in ms (set KSPS_TEST_UNIT_MS on a slow machine). */
export const UNIT = Number(process.env.KSPS_TEST_UNIT_MS || 1000);

/** Rejects with `what` when `promise` does not settle within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve function outside. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Records values as they come and lets a test wait for the next ones matching a filter:
 * `await inbox.next((m) => m.topic === "x")`.
 */
export class Inbox {
  constructor(name = "inbox") {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    this.items.push(item);
    for (const waiter of [...this.waiters]) {
      const index = this.items.findIndex(waiter.match);
      if (index >= 0) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(this.items.splice(index, 1)[0]);
      }
    }
  }

  /** Removes and returns the first item matching `match`, waiting up to `ms` for it. */
  next(match = () => true, ms = 5 * UNIT) {
    const index = this.items.findIndex(match);
    if (index >= 0) {
      return Promise.resolve(this.items.splice(index, 1)[0]);
    }
    const waiter = { match };
    const promise = new Promise((resolve) => (waiter.resolve = resolve));
    this.waiters.push(waiter);
    return withTimeout(promise, ms, `${this.name}: no matching item`).finally(() => {
      const at = this.waiters.indexOf(waiter);
      if (at >= 0) this.waiters.splice(at, 1);
    });
  }

  /** The items not taken yet. */
  pending(match = () => true) {
    return this.items.filter(match);
  }
}
