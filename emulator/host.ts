/**
 * startHost: the offline Functions + Durable host, assembled. Order matters: the port is bound
 * first (so port 0 is known), WEBSITE_HOSTNAME is set to it before the app loads (getClient
 * rewrites client URLs to localhost:7071 when it is unset, spec §4), the core shim is installed
 * before the app's first `app.*` call, and unfinished orchestrations resume before requests are
 * served.
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import { ActivityPool, type ActivityTiming } from './activities';
import { loadApp } from './app-loader';
import { applyLocalSettings, resolveConfig, type HostConfig, type HostOptions } from './config';
import { installCoreShim } from './core-shim';
import { ClientApi } from './durable/client-api';
import { clientBindingValue } from './durable/client-binding';
import { Engine, type EngineStats } from './durable/engine';
import { DurableStore } from './durable/store';
import { KeyGate, authLevelOf } from './http/auth';
import { createDispatch } from './http/dispatch';
import { HttpFunctions } from './http/functions';
import { HttpHost } from './http/server';
import { Invoker } from './invoker';
import { Logger } from './log';
import { classify, type Registry } from './registry';
import { WorkerPool } from './workers/pool';

export type { HostOptions } from './config';

export interface RunningHost {
  /** Origin of the host, e.g. http://127.0.0.1:7071 (HTTP triggers are under /<routePrefix>). */
  url: string;
  port: number;
  config: HostConfig;
  registry: Registry;
  /** Stops accepting requests, lets running activities finish (drainMs), runs appTerminate hooks. */
  stop(): Promise<void>;
  /** The orchestration engine's counters (episodes, replay time, longest history). */
  /** The engine's replay figures and each activity function's run times. */
  stats(): EngineStats & { activities: Record<string, ActivityTiming> };
}

let started = false;

/** Where the app's own `require('@azure/functions')` goes: the one copy whose model this host uses. */
function functionsLibrary(appDir: string): string {
  try {
    return createRequire(join(appDir, 'package.json')).resolve('@azure/functions');
  } catch {
    return 'not found';
  }
}

function describeFunctions(registry: Registry, origin: string, prefix: string): string[] {
  return registry.all.map((f) => {
    if (f.kind === 'http') {
      const methods = f.methods.length > 0 ? f.methods.join(',') : 'ALL';
      return `  ${f.name}: [${methods}] ${origin}/${prefix === '' ? '' : `${prefix}/`}${f.route.replace(/^\/+/, '')} (${authLevelOf(f)})`;
    }
    if (f.kind === 'other') return `  ${f.name}: ${f.triggerType} (not run by the offline host)`;
    if (f.kind === 'entity') return `  ${f.name}: entityTrigger (not run by the offline host)`;
    return `  ${f.name}: ${f.kind}Trigger`;
  });
}

export async function startHost(options: HostOptions = {}): Promise<RunningHost> {
  // @azure/functions keeps its registrations and core module per process: one app per process.
  if (started) throw new Error('startHost: this process already hosts an app');
  started = true;
  const localPort = applyLocalSettings(resolve(options.appDir ?? process.cwd()), process.env);
  const config = resolveConfig(options, process.env, localPort);
  const log = new Logger(config.logLevel);

  const http = new HttpHost(log);
  let workers: WorkerPool | undefined;
  const port = await http.listen(config.port, config.host);
  const urlHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const origin = `http://${urlHost}:${port}`;
  try {
    process.env.WEBSITE_HOSTNAME = `${urlHost}:${port}`;
    process.env.FUNCTIONS_WORKER_RUNTIME ??= 'node';
    process.env.AzureWebJobsStorage ??= config.storage;

    // The activity workers load the app while this process does (same environment, same shim).
    const gate = new KeyGate(config.keys);
    const clientBinding = () => gate.secureBinding(clientBindingValue(origin, config.hubName), origin);
    const pool = new WorkerPool({
      size: config.workers,
      log,
      init: { appDir: config.appDir, entry: config.entry, logLevel: config.logLevel, clientBinding: clientBinding() },
    });
    workers = pool;
    const workersReady = pool.start();
    workersReady.catch(() => undefined);

    const shim = installCoreShim();
    shim.setSystemLog((level, _category, message) => {
      if (level === 'error' || level === 'critical') log.error(message);
      else if (level === 'warning') log.warn(message);
      else log.debug(message);
    });
    const files = await loadApp(config.appDir, config.entry);
    log.debug(`loaded ${files.length} file(s) from ${config.appDir}; @azure/functions from ${functionsLibrary(config.appDir)}`);
    if (!shim.programmingModel) {
      throw new Error(`the app in ${config.appDir} registered no functions (@azure/functions: ${functionsLibrary(config.appDir)})`);
    }
    // The worker asks for capabilities once the app is loaded; it also locks app.setup().
    const caps = await shim.programmingModel.getCapabilities?.({});
    if (caps?.HttpUri) log.warn('app.setup({ enableHttpStream: true }) is not supported by the offline host; HTTP triggers will not get requests');
    const registry = classify(shim.functions.values());
    const invoker = new Invoker(shim, log);
    await invoker.runAppHooks('appStart', config.appDir);

    const [store] = await Promise.all([DurableStore.open(config.storage, config.hubName, log), workersReady]);
    const activities = new ActivityPool({
      limit: config.maxConcurrentActivityFunctions,
      workers: pool,
      log,
      functionTimeoutMs: config.functionTimeoutMs,
      deliverTwice: config.deliverTwice,
    });
    const engine = new Engine({ store, registry, invoker, activities, log, maxConcurrentOrchestratorFunctions: config.maxConcurrentOrchestratorFunctions });
    const clientApi = new ClientApi({ engine, store, hubName: config.hubName });
    const functions = new HttpFunctions(registry.http, config.routePrefix, invoker, log, clientBinding);
    const { router, admit } = createDispatch(functions, { owns: (p) => ClientApi.owns(p), handle: (r) => clientApi.handle(r) }, gate);

    const resumed = await engine.start();
    http.serve(router, admit);
    log.info(`Functions:\n${describeFunctions(registry, origin, config.routePrefix).join('\n')}`);
    if (config.keys.enforce) log.info(config.keys.summary);
    else log.warn(config.keys.summary);
    log.info(`task hub ${config.hubName} in table ${store.tableName}; ${resumed} unfinished orchestration(s) resumed; activities ≤ ${config.maxConcurrentActivityFunctions}, orchestrators ≤ ${config.maxConcurrentOrchestratorFunctions} at a time`);
    log.info(`activities run in ${config.workers} worker processes (pids ${pool.pids.join(', ')}); functionTimeout ${config.functionTimeout}`);
    if (config.deliverTwice.length > 0) log.warn(`test hook: every invocation of ${config.deliverTwice.join(', ')} runs twice at once (--deliver-twice)`);

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        const t0 = Date.now();
        const closing = http.close();
        await engine.stop(config.drainMs);
        log.debug(`engine stopped after ${Date.now() - t0} ms`);
        await invoker.runAppHooks('appTerminate', config.appDir).catch((e: unknown) => log.error('appTerminate hook failed', e));
        http.forceClose();
        await closing;
        log.debug(`stopped after ${Date.now() - t0} ms`);
      })();
      return stopping;
    };
    return { url: origin, port, config, registry, stop, stats: () => ({ ...engine.stats, activities: structuredClone(activities.timings) }) };
  } catch (e) {
    await workers?.stop(0);
    const closing = http.close();
    http.forceClose();
    await closing;
    throw e;
  }
}
