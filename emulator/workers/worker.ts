/**
 * An activity worker: a child process of the host that loads the same app through the same core
 * shim (so the same registrations and hooks), runs the activity invocations the host sends over
 * IPC and answers with their history events. Like a Functions language worker, it keeps nothing the
 * host relies on: the host sends each invocation to a worker chosen at random, and kills a worker
 * whose activity outlives functionTimeout.
 *
 * It ignores SIGINT/SIGTERM (a Ctrl-C reaches the whole process group; the host drains its
 * activities and then stops its workers) and exits at once when the host goes away.
 */
import { runActivity } from '../activities';
import { loadApp } from '../app-loader';
import { installCoreShim } from '../core-shim';
import { Invoker } from '../invoker';
import { Logger, errorMessage, type LogLevel } from '../log';
import { classify, type Registry } from '../registry';
import type { FromWorker, ToWorker, WorkerInit } from './protocol';

function send(m: FromWorker, then?: () => void): void {
  if (!process.connected) return;
  process.send?.(m, undefined, undefined, () => then?.());
}

/** Lines go to the host's log over IPC, already filtered by level. */
class IpcLogger extends Logger {
  protected override write(level: LogLevel, msg: string): void {
    send({ type: 'log', level, text: msg });
  }
}

let log = new IpcLogger('info');
let app: { registry: Registry; invoker: Invoker; appDir: string; clientBinding: unknown } | undefined;

async function init(m: WorkerInit): Promise<void> {
  log = new IpcLogger(m.logLevel);
  const shim = installCoreShim();
  shim.setSystemLog((level, _category, message) => {
    if (level === 'error' || level === 'critical') log.error(message);
    else if (level === 'warning') log.warn(message);
    else log.debug(message);
  });
  await loadApp(m.appDir, m.entry);
  if (!shim.programmingModel) throw new Error(`the app in ${m.appDir} registered no functions`);
  await shim.programmingModel.getCapabilities?.({});
  const registry = classify(shim.functions.values());
  const invoker = new Invoker(shim, log);
  await invoker.runAppHooks('appStart', m.appDir);
  app = { registry, invoker, appDir: m.appDir, clientBinding: m.clientBinding };
  send({ type: 'ready', activities: registry.activities.size });
}

async function onMessage(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init':
      try {
        await init(m);
      } catch (e) {
        send({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : errorMessage(e) }, () => process.exit(1));
      }
      break;
    case 'invoke': {
      if (!app) throw new Error('invoke before init');
      const binding = app.clientBinding;
      const event = await runActivity(app.registry, app.invoker, log, m.job, binding === null ? undefined : () => binding);
      send({ type: 'done', id: m.id, event });
      break;
    }
    case 'stop':
      if (app) await app.invoker.runAppHooks('appTerminate', app.appDir).catch((e: unknown) => log.error('appTerminate hook failed', e));
      process.exit(0);
  }
}

process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => process.exit(0));
// A stray rejection in app code is logged, as the Functions worker does, instead of killing the worker.
process.on('unhandledRejection', (reason) => log.error('unhandled rejection in an activity worker', reason));
process.on('message', (m: ToWorker) => {
  onMessage(m).catch((e: unknown) => log.error(`activity worker ${process.pid}: handling '${m.type}' failed`, e));
});
