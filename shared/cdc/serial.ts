/**
 * One query at a time per connection, in call order, without node-pg's internal queue (which
 * pg 8 deprecates): the applier sends a statement while preparing the next one, and reads from the
 * source while the reader fetches, so callers chain their queries per client here.
 */
const chains = new WeakMap<object, Promise<unknown>>();

/** Runs fn after every earlier call for the same client has settled. */
export function serially<T>(client: object, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(client) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  chains.set(client, run.catch(() => undefined));
  return run;
}

/** Resolves once every query chained for this client so far has settled. */
export function drained(client: object): Promise<void> {
  return serially(client, async () => undefined);
}
