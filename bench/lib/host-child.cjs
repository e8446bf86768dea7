/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry run by node directly */
/* global require, process */
/**
 * The offline host in its own process for benchmarks (bench/lib/product.ts forks it): the built
 * app (dist/) on the storage and task hub the environment names, as `npm start` runs it, so a
 * benchmark can stop and start it again (one app per process) and still read the engine's
 * figures. Arguments: the app's folder, the task hub, and optionally the number of activity
 * worker processes (the host's default without it). IPC: sends { url, workers,
 * maxConcurrentActivityFunctions } once listening (as the host resolved them); answers 'stats'
 * with { stats }; 'stop' stops the host and exits.
 */
'use strict';

const { join } = require('node:path');

const root = process.argv[2];
const hub = process.argv[3];
const workers = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const { startHost } = require(join(root, 'dist', 'emulator', 'host.js'));

startHost({ appDir: root, port: 0, logLevel: 'warn', hub, ...(workers === undefined ? {} : { workers }) }).then(
  (host) => {
    process.on('message', (m) => {
      if (m === 'stats') process.send({ stats: host.stats() });
      if (m === 'stop') host.stop().finally(() => process.exit(0));
    });
    process.send({ url: host.url, workers: host.config.workers, maxConcurrentActivityFunctions: host.config.maxConcurrentActivityFunctions });
  },
  (err) => {
    process.send({ error: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  },
);
