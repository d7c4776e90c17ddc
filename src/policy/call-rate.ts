/**
 * The calls-per-second limit of a session: a token bucket holding up to two
 * seconds' worth of calls, so a burst passes and a runaway loop does not.
 */

/** One session's call rate. */
export class CallRate {
  private tokens: number;
  private last = performance.now();

  /** `perSecond` 0 means no limit. */
  constructor(private readonly perSecond: number) {
    this.tokens = 2 * perSecond;
  }

  /** Takes one call's token: undefined when the call may go ahead, else the milliseconds until one is free. */
  take(): number | undefined {
    if (this.perSecond === 0) return undefined;
    const now = performance.now();
    this.tokens = Math.min(2 * this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
