/**
 * Durable timers in memory: each fires once at its wall-clock time, however far away (setTimeout
 * caps a delay at about 24.8 days, so long waits re-arm). Persistence is the scheduler's: a timer
 * is pending work in the instance record and is re-armed when the host starts.
 */

const MAX_DELAY_MS = 2_147_483_647;

export class TimerSet {
  private readonly handles = new Map<string, NodeJS.Timeout>();

  /** Arms `key` for `fireAt`; re-arming a key replaces the earlier timer. */
  arm(key: string, fireAt: Date, fire: () => void): void {
    this.cancel(key);
    const schedule = (): void => {
      const wait = Math.max(0, fireAt.getTime() - Date.now());
      this.handles.set(key, setTimeout(tick, Math.min(wait, MAX_DELAY_MS)));
    };
    const tick = (): void => {
      if (fireAt.getTime() > Date.now()) return schedule();
      this.handles.delete(key);
      fire();
    };
    schedule();
  }

  cancel(key: string): void {
    const h = this.handles.get(key);
    if (h) clearTimeout(h);
    this.handles.delete(key);
  }

  /** Cancels every timer whose key starts with `prefix`. */
  cancelPrefix(prefix: string): void {
    for (const key of [...this.handles.keys()]) if (key.startsWith(prefix)) this.cancel(key);
  }

  clear(): void {
    for (const h of this.handles.values()) clearTimeout(h);
    this.handles.clear();
  }

  get size(): number {
    return this.handles.size;
  }
}
