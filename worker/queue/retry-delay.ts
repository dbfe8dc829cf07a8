/** The first retry waits about this long; each further attempt doubles it. */
export const BASE_RETRY_SECONDS = 10;
/** No retry waits longer: 10 retries then span about an hour, long enough to ride out an outage. */
export const MAX_RETRY_SECONDS = 15 * 60;

/**
 * Seconds before a failed message is delivered again, from its `attempts` (1 on the first
 * delivery): exponential backoff with "equal jitter" (half the step fixed, half random). The random
 * half spreads apart retries that failed at the same moment but separately (other batches, other
 * isolates), so they do not come back in one wave. Messages of one batch that failed together share
 * one draw (`random`, see settle.ts): they come back together, and cost one bulk call again.
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_RETRY_SECONDS, BASE_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.ceil(step / 2 + random() * (step / 2));
}
