/** The first retry waits about this long; each further attempt doubles it. */
export const BASE_RETRY_SECONDS = 10;
/** No retry waits longer: 10 retries then span about an hour, long enough to ride out an outage. */
export const MAX_RETRY_SECONDS = 15 * 60;

/**
 * Seconds before a failed message is delivered again, from its `attempts` (1 on the first
 * delivery): exponential backoff with "equal jitter" (half the step fixed, half random), so
 * messages that failed together do not all come back together.
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_RETRY_SECONDS, BASE_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.ceil(step / 2 + random() * (step / 2));
}
