import * as df from 'durable-functions';

/**
 * Transient faults (a dropped connection, a restarting server, a host crash) are retried with
 * back-off for about ten minutes; failures an activity knows are permanent come back as a Result
 * instead of throwing, so they fail fast.
 */
export function transientRetry(): df.RetryOptions {
  const r = new df.RetryOptions(2_000, 8);
  r.backoffCoefficient = 2;
  r.maxRetryIntervalInMilliseconds = 120_000;
  return r;
}
