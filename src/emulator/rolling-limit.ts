/** Allows at most `limit` acquisitions in any rolling window; refused attempts do not count. */
export interface RollingLimit {
  tryAcquire(now: number): boolean;
  clear(): void;
}

export function createRollingLimit(limit: number, windowMs: number): RollingLimit {
  let accepted: number[] = [];
  return {
    tryAcquire(now) {
      accepted = accepted.filter((at) => now - at < windowMs);
      if (accepted.length >= limit) return false;
      accepted.push(now);
      return true;
    },
    clear() {
      accepted = [];
    },
  };
}
