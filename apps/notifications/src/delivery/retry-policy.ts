import type { RetryPolicy } from '../notifications/repo';

// graphile-worker's own backoff is exp(attempts) seconds, uncapped: 2.7 s,
// 7 s, 20 s, 55 s, … 6 h by the tenth try. A message must go out soon after
// a provider comes back, so failed sends are not thrown back to it: the send
// job records the try and adds the next job itself, after a capped
// exponential wait with jitter (half fixed, half random, so that the
// messages an outage held back do not all retry in the same instant).
// graphile-worker's retries remain for unexpected errors of the job itself
// (the notifications database unreachable), up to JOB_MAX_ATTEMPTS.

/** graphile-worker's max_attempts of each send job: tries after unexpected errors. */
export const JOB_MAX_ATTEMPTS = 25;
/** The wait after the first failed try. */
const FIRST_RETRY_DELAY_MS = 1_000;

/** Up to `maxAttempts` tries, waiting 1 s, 2 s, 4 s, … (each between half and all of it) but never over `maxBackoffMs`. */
export function retryPolicy(maxAttempts: number, maxBackoffMs: number): RetryPolicy {
  return {
    maxAttempts,
    jobMaxAttempts: JOB_MAX_ATTEMPTS,
    retryDelayMs(attempts) {
      const cap = Math.min(maxBackoffMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(attempts - 1, 30));
      return cap / 2 + Math.random() * (cap / 2);
    },
  };
}
