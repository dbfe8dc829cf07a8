/** Allows at most `limit` acquisitions in any rolling window; refused attempts do not count. */
export interface RollingLimit {
  tryAcquire(now: number): boolean;
  /** Milliseconds until an acquisition may succeed again (0 when there is room now). */
  waitTime(now: number): number;
  clear(): void;
}

export function createRollingLimit(limit: number, windowMs: number): RollingLimit {
  // Accepted times, oldest first, from `head` on: a queue, so that a daily quota of a million calls
  // costs O(1) per call instead of filtering a million-long array each time.
  let accepted: number[] = [];
  let head = 0;
  const expire = (now: number) => {
    while (head < accepted.length && now - accepted[head]! >= windowMs) head++;
    if (head > 1024 && head * 2 > accepted.length) {
      accepted = accepted.slice(head);
      head = 0;
    }
  };
  return {
    tryAcquire(now) {
      expire(now);
      if (accepted.length - head >= limit) return false;
      accepted.push(now);
      return true;
    },
    waitTime(now) {
      expire(now);
      if (accepted.length - head < limit) return 0;
      // A limit of 0 never admits anything: say a whole window.
      return head < accepted.length ? accepted[head]! + windowMs - now : windowMs;
    },
    clear() {
      accepted = [];
      head = 0;
    },
  };
}
