/**
 * When to try again after a lost or failed connection: exponential backoff with full jitter.
 * @module
 */

/**
 * Delays between connection attempts. Attempt n waits a random time in
 * `[0, min(maxDelay, initialDelay * factor ** n)]` ("full jitter"), so the many clients a server restart
 * cut off do not come back in lockstep. A successful connection resets the sequence.
 */
export class ReconnectPolicy {
  private attempt = 0;

  constructor(
    readonly initialDelay: number,
    readonly factor: number,
    readonly maxDelay: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The upper bound of the next delay, in ms. */
  bound(): number {
    // Cap the exponent: the bound stops growing long before the number overflows.
    const exponent = Math.min(this.attempt, 64);
    return Math.min(this.maxDelay, this.initialDelay * this.factor ** exponent);
  }

  /** The delay before the next attempt, in ms; advances the sequence. */
  nextDelay(): number {
    const delay = this.random() * this.bound();
    this.attempt += 1;
    return delay;
  }

  /** Start again from the initial delay (after a successful connection). */
  reset(): void {
    this.attempt = 0;
  }
}
