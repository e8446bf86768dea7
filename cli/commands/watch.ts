/**
 * `pgferry watch --server S --name N [--until-cutover-ready] [--interval seconds]`: live progress
 * per database. On a terminal the block is redrawn in place; otherwise (a pipe, a CI log) a line
 * is printed only when something changed; with --output json, one JSON object per change.
 *
 * Exit: 0 when the migration Succeeded (or, with --until-cutover-ready, waits for cutover; in a
 * fallback window, once a requested fall back or finalize is done), 1 when a fall back did not
 * complete, or it ended Failed / ValidationFailed / Canceled — and, with --until-cutover-ready, as soon as a
 * database failed (the migration can no longer become ready; the failed databases are named).
 * A service that stops answering for a while (a host restart) is waited for; a 4xx ends the watch
 * at once.
 */
import type { Command } from '../args';
import { ApiFailure } from '../client';
import { EXIT, type ExitCode } from '../exit-codes';
import { databaseLine, progressBars, statusLine, waitingAdvice } from '../format';
import type { MigrationResource } from '../../shared/model/migration-resource';
import type { CommandContext } from './context';

type WatchCommand = Extract<Command, { name: 'watch' }>;

/** How long watch keeps retrying a service that stopped answering before it gives up. */
export const OUTAGE_TOLERANCE_MS = 60_000;

const FAILED = new Set(['Failed', 'ValidationFailed', 'Canceled']);

/** The exit code once the watch is over, or undefined while it goes on. */
export function outcome(m: MigrationResource, untilCutoverReady: boolean): ExitCode | undefined {
  const s = m.properties.currentStatus;
  const sub = s.currentSubStateDetails.currentSubState;
  // In a fallback window, an ending asked for (fall back, finalize) is followed to its end; a fall
  // back that did not complete leaves the window open, and says why.
  if (s.state === 'Succeeded' && sub === 'FallingBack') return undefined;
  if (s.state === 'Succeeded' && sub === 'ReplicatingToSource') {
    const fb = m.properties.fallback;
    if (fb?.error) return EXIT.migrationFailed;
    if (fb?.fallbackRequestedOn || fb?.finalizeRequestedOn) return undefined;
  }
  if (s.state === 'Succeeded') return EXIT.ok;
  if (FAILED.has(s.state)) return EXIT.migrationFailed;
  if (untilCutoverReady && failedDatabases(m).length > 0) return EXIT.migrationFailed;
  if (untilCutoverReady && s.state === 'WaitingForUserAction' && s.currentSubStateDetails.currentSubState === 'WaitingForCutoverTrigger') return EXIT.ok;
  return undefined;
}

function failedDatabases(m: MigrationResource) {
  return databases(m).filter((d) => d.migrationState === 'Failed');
}

/** Why the watch ends with exit 1: the migration's end, or the databases that failed. */
function failureText(m: MigrationResource): string {
  const s = m.properties.currentStatus;
  if (s.state === 'Succeeded' && m.properties.fallback?.error) return `${m.name}: ${m.properties.fallback.error}`;
  if (FAILED.has(s.state)) return `${m.name} ended ${s.state}${s.error ? `: ${s.error}` : ''}`;
  const failed = failedDatabases(m).map((d) => `${d.databaseName}${d.message ? ` (${d.message})` : ''}`);
  return `${m.name} cannot become ready for cutover: database ${failed.join(', ')} failed. The other databases keep running; cut them over with pgferry cutover, or cancel`;
}

function databases(m: MigrationResource) {
  const details = m.properties.currentStatus.currentSubStateDetails.dbDetails;
  return m.properties.dbsToMigrate.flatMap((name) => {
    const d = details[name];
    return d ? [d] : [];
  });
}

/** The last line of a watch that ends Succeeded: the fallback window and its endings when there is one. */
function succeededText(m: MigrationResource, server: string): string {
  const sub = m.properties.currentStatus.currentSubStateDetails.currentSubState;
  const fb = m.properties.fallback;
  if (sub === 'ReplicatingToSource') {
    return `${m.name} Succeeded. The target's changes flow back to the source until you run pgferry finalize --server ${server} --name ${m.name} (keep the target) or pgferry fallback --server ${server} --name ${m.name} (go back to the source)`;
  }
  if (sub === 'FellBackToSource') return `${m.name} fell back: the source is ready for the application${fb?.durationSeconds !== undefined ? ` (${fb.durationSeconds} s after the request)` : ''}.`;
  return `${m.name} Succeeded.`;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export async function watch(cmd: WatchCommand, ctx: CommandContext): Promise<ExitCode> {
  const { io } = ctx;
  const live = io.isTTY && ctx.output === 'table';
  let drawn = 0;
  let lastStatus = '';
  let lastJson = '';
  const lastDb = new Map<string, string>();
  let seen = false;
  let outageSince: number | undefined;

  const cut = (line: string) => (io.columns > 10 && line.length >= io.columns ? `${line.slice(0, io.columns - 2)}…` : line);

  function render(m: MigrationResource): void {
    const s = m.properties.currentStatus;
    if (ctx.output === 'json') {
      const snapshot = { name: m.name, state: s.state, subState: s.currentSubStateDetails.currentSubState, ...(s.error ? { error: s.error } : {}), databases: databases(m) };
      const text = JSON.stringify(snapshot);
      if (text !== lastJson) io.out(JSON.stringify({ time: new Date(ctx.now()).toISOString(), ...snapshot }));
      lastJson = text;
      return;
    }
    const advice = waitingAdvice(m, cmd.server);
    if (live) {
      const lines = [
        `${statusLine(m)}   (updated ${clock(ctx.now())} UTC)`,
        ...(advice ? [`  ${advice}`] : []),
        ...databases(m).flatMap((d) => [`  ${databaseLine(d)}`, ...progressBars(d, io.columns)]),
        ...(s.error ? [`  error: ${s.error}`] : []),
        'Ctrl-C stops watching; the migration keeps running.',
      ].map(cut);
      io.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
      return;
    }
    // The error is part of what changed: a database that fails can leave state and substate as they were.
    const status = `${statusLine(m)}${s.error ? ` — ${s.error}` : ''}`;
    if (status !== lastStatus) {
      io.out(`${clock(ctx.now())} ${status}`);
      // A migration waiting on the user says, once, what releases it.
      if (advice) io.out(`${clock(ctx.now())}   ${advice}`);
    }
    lastStatus = status;
    for (const d of databases(m)) {
      const line = databaseLine(d);
      if (lastDb.get(d.databaseName) !== line) io.out(`${clock(ctx.now())}   ${line}`);
      lastDb.set(d.databaseName, line);
    }
  }

  for (;;) {
    let m: MigrationResource;
    try {
      m = await ctx.client.get(cmd.server, cmd.migration);
      if (outageSince !== undefined) io.err(`pgferry answers again; watching ${cmd.migration}`);
      outageSince = undefined;
    } catch (e) {
      const transient = !(e instanceof ApiFailure) || e.status >= 500;
      if (!seen || !transient) throw e;
      const now = ctx.now();
      if (outageSince === undefined) {
        outageSince = now;
        io.err(`pgferry did not answer (${e instanceof Error ? e.message : String(e)}); retrying for up to ${OUTAGE_TOLERANCE_MS / 1000} s`);
        drawn = 0;
      } else if (now - outageSince > OUTAGE_TOLERANCE_MS) {
        throw e;
      }
      await ctx.sleep(cmd.intervalMs);
      continue;
    }
    seen = true;
    render(m);
    const done = outcome(m, cmd.untilCutoverReady);
    if (done !== undefined) {
      const s = m.properties.currentStatus;
      if (ctx.output === 'table') {
        if (done === EXIT.ok && s.state === 'Succeeded') io.out(succeededText(m, cmd.server));
        else if (done === EXIT.ok) io.out(`${m.name} is ready for cutover: stop writes to the source, wait until latency is near 0, then run pgferry cutover --server ${cmd.server} --name ${m.name}`);
      }
      if (done === EXIT.migrationFailed) io.err(failureText(m));
      return done;
    }
    await ctx.sleep(cmd.intervalMs);
  }
}
