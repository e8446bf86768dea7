/** Reading what test/support/action-watcher.cjs recorded (for host.ts and the global teardown). */
import { existsSync, readFileSync } from 'node:fs';

/** A Task.any/Task.all that held an action already emitted, as action-watcher.cjs records it. */
export interface ActionViolation {
  pid: number;
  orchestrator?: string;
  instanceId?: string;
  compound?: 'Task.any' | 'Task.all';
  action?: Record<string, unknown>;
  watcherError?: string;
}

export function readViolations(file: string): ActionViolation[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ActionViolation);
}

export function describeViolation(v: ActionViolation): string {
  if (v.watcherError) return `action watcher (pid ${v.pid}): ${v.watcherError}`;
  return `${v.compound ?? 'a compound'} in orchestration '${v.orchestrator ?? '?'}' (instance ${v.instanceId ?? '?'}) holds an action it already emitted: ${JSON.stringify(v.action)}`;
}
