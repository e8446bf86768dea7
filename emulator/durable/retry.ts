/**
 * Retry timing of DurableTask.Core's RetryInterceptor, which Azure runs for the SDK's
 * *WithRetry actions: after failed attempt n (1-based) wait first × coefficient^(n-1), capped at
 * maxRetryInterval; an attempt that fails once retryTimeout has passed since the first is not retried.
 */
import type { RetryPolicy } from './actions';

export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  const coefficient = policy.backoffCoefficient ?? 1;
  const raw = policy.firstRetryIntervalInMilliseconds * Math.pow(coefficient, Math.max(0, failedAttempt - 1));
  const capped = policy.maxRetryIntervalInMilliseconds !== undefined ? Math.min(raw, policy.maxRetryIntervalInMilliseconds) : raw;
  return Math.max(0, Math.round(Number.isFinite(capped) ? capped : policy.firstRetryIntervalInMilliseconds));
}

/** Whether an attempt failing at `failedAt` is past the policy's retryTimeout (no retry then). */
export function retryTimedOut(policy: RetryPolicy, firstAttemptAt: string, failedAt: Date): boolean {
  if (policy.retryTimeoutInMilliseconds === undefined) return false;
  return failedAt.getTime() >= Date.parse(firstAttemptAt) + policy.retryTimeoutInMilliseconds;
}
