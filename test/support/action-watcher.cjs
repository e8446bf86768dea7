/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (node --require) */
/* global require, process, __filename */
/**
 * Preload for hosts under test (`node --require test/support/action-watcher.cjs`; test/support/host.ts
 * adds it to every host it starts, and worker processes inherit it): wraps durable-functions'
 * TaskOrchestrationExecutor.prototype.addToActions and records every compound action (Task.any /
 * Task.all) that holds an action the orchestration already emitted in this execution, compared by
 * object identity. The Durable extension schedules every child of a compound as new
 * (azure-functions-durable-js#574), so each such action would run twice in Azure. The host itself
 * fails such an orchestration; this watcher is the suite's independent record of it.
 *
 * One JSON line per violation (once per instance, action and process) goes to the file named by
 * PGFERRY_ACTION_WATCH_FILE: { pid, orchestrator, instanceId, compound, action }.
 * durable-functions is resolved from the working directory (the project root for test hosts).
 */
'use strict';

const fs = require('node:fs');

const file = process.env.PGFERRY_ACTION_WATCH_FILE;
const WHEN_ANY = 11;
const WHEN_ALL = 12;

function record(entry) {
  try {
    fs.appendFileSync(file, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
  } catch (e) {
    process.stderr.write(`action watcher: cannot write ${file}: ${e.message}\n`);
  }
}

const isCompound = (a) => a !== null && typeof a === 'object' && (a.actionType === WHEN_ANY || a.actionType === WHEN_ALL) && Array.isArray(a.compoundActions);

/** Atomic actions of `actions`, depth-first, every occurrence. */
function atoms(actions, out = []) {
  for (const a of actions) {
    if (isCompound(a)) atoms(a.compoundActions, out);
    else if (a !== null && typeof a === 'object') out.push(a);
  }
  return out;
}

function describe(a) {
  const d = { actionType: a.actionType };
  for (const k of ['functionName', 'input', 'instanceId', 'externalEventName', 'fireAt']) {
    if (a[k] !== undefined) d[k] = k === 'input' && typeof a[k] !== 'string' ? JSON.stringify(a[k]) : a[k];
  }
  if (typeof d.input === 'string' && d.input.length > 300) d.input = `${d.input.slice(0, 300)}…`;
  return d;
}

function install() {
  let Executor;
  try {
    const path = require.resolve('durable-functions/lib/src/orchestrations/TaskOrchestrationExecutor.js', { paths: [process.cwd()] });
    Executor = require(path).TaskOrchestrationExecutor;
  } catch (e) {
    record({ watcherError: `durable-functions not found from ${process.cwd()}: ${e.message}` });
    return;
  }
  const seen = new Set();
  const execute = Executor.prototype.execute;
  Executor.prototype.execute = function watchedExecute(context, history, ...rest) {
    const started = Array.isArray(history) ? history.find((e) => e && e.EventType === 0) : undefined;
    this.__actionWatch = { orchestrator: started ? started.Name : undefined, instanceId: context && context.df ? context.df.instanceId : undefined };
    return execute.call(this, context, history, ...rest);
  };
  const addToActions = Executor.prototype.addToActions;
  Executor.prototype.addToActions = function watchedAddToActions(action) {
    if (!this.willContinueAsNew && isCompound(action)) {
      const emitted = new Set(atoms(this.actions));
      for (const a of atoms([action])) {
        if (emitted.has(a)) {
          const who = this.__actionWatch || {};
          const entry = { orchestrator: who.orchestrator, instanceId: who.instanceId, compound: action.actionType === WHEN_ANY ? 'Task.any' : 'Task.all', action: describe(a) };
          const key = JSON.stringify([entry.instanceId, entry.action]);
          if (!seen.has(key)) {
            seen.add(key);
            record(entry);
          }
          break;
        }
        emitted.add(a);
      }
    }
    return addToActions.call(this, action);
  };
}

if (file) install();
else process.stderr.write(`${__filename}: PGFERRY_ACTION_WATCH_FILE is not set; not watching\n`);
