/**
 * `node dist/emulator/main.js [--port 7071] [--host 127.0.0.1] [--app <dir>] [--storage <conn>]
 * [--hub <name>] [--entry <glob>]… [--log-level debug|info|warn|error] [--drain-ms 5000]
 * [--auth on|off|auto] [--function-timeout hh:mm:ss] [--workers 2] [--deliver-twice a,b]`
 *
 * Runs a function app offline, as `func start` would: HTTP triggers, orchestrations and
 * activities, the Durable HTTP API, state in Table Storage (Azurite by default). Prints
 * "pgferry host listening on <url>" when it serves; SIGINT/SIGTERM stop it gracefully.
 */
import { parseAuthMode } from './http/auth';
import { startHost, type HostOptions } from './host';
import { describeError } from './log';

const USAGE = `usage: node dist/emulator/main.js [options]
  --app <dir>         function app folder (package.json, host.json); default: current directory
  --entry <glob>      entry file(s) instead of package.json "main" (repeatable)
  --port <n>          HTTP port (default 7071; 0 = any free port)
  --host <addr>       interface to bind (default 127.0.0.1)
  --storage <conn>    Table Storage connection string (default: AzureWebJobsStorage, then Azurite)
  --hub <name>        task hub name (default: host.json extensions.durableTask.hubName)
  --log-level <lvl>   debug | info | warn | error (default info)
  --drain-ms <n>      on stop, how long running activities may finish (default 5000)
  --auth <mode>       function keys: on | off | auto (default PGFERRY_AUTH, else auto: enforced
                      when PGFERRY_FUNCTION_KEY is set; without a key only a loopback --host is allowed)
  --function-timeout <t>  [d.]hh:mm:ss or -1: how long one activity may run (default host.json
                      functionTimeout, else 00:30:00); past it the activity fails and its worker is killed
  --workers <n>       activity worker processes, at least 2 (default 2)
  --deliver-twice <a,b>  test hook: run every invocation of these activities twice at once, on two
                      workers, answering with the first (default PGFERRY_HOST_DELIVER_TWICE)`;

export function parseArgs(argv: string[]): HostOptions {
  const o: HostOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${v}`);
      return n;
    };
    switch (flag) {
      case '--app': o.appDir = value(); break;
      case '--entry': o.entry = [...(o.entry ?? []), value()]; break;
      case '--port': o.port = int(); break;
      case '--host': o.host = value(); break;
      case '--storage': o.storage = value(); break;
      case '--hub': o.hub = value(); break;
      case '--drain-ms': o.drainMs = int(); break;
      case '--auth': o.auth = parseAuthMode(value(), '--auth') ?? 'auto'; break;
      case '--function-timeout': o.functionTimeout = value(); break;
      case '--workers': o.workers = int(); break;
      case '--deliver-twice': o.deliverTwice = value().split(',').map((n) => n.trim()).filter((n) => n !== ''); break;
      case '--log-level': {
        const v = value();
        if (v !== 'debug' && v !== 'info' && v !== 'warn' && v !== 'error') throw new Error(`--log-level must be debug, info, warn or error`);
        o.logLevel = v;
        break;
      }
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}

async function main(): Promise<void> {
  let options: HostOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  // A stray rejection in app code is logged, as the worker does, instead of killing every orchestration.
  process.on('unhandledRejection', (reason) => console.error(`${new Date().toISOString()} unhandled rejection\n${describeError(reason)}`));
  const host = await startHost(options);
  console.log(`pgferry host listening on ${host.url}`);
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(130);
    console.log(`${new Date().toISOString()} ${signal}: stopping (running activities get ${host.config.drainMs} ms)`);
    host.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(describeError(e));
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`pgferry host failed to start\n${describeError(e)}`);
    process.exit(1);
  });
}
