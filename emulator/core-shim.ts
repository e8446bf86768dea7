/**
 * Supplies `@azure/functions-core`, the module the real Node worker injects, so that
 * @azure/functions leaves test mode and hands every registration and hook to this host instead
 * of dropping them. There is no public API to list registrations; this is how the worker gets them.
 *
 * @azure/functions caches the core module per package copy on its first `app.*` call, so the hook
 * must be in place before the app is required, and one process hosts one app.
 */
import Module from 'node:module';

import type {
  Disposable,
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from './core-types';

export interface CapturedFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

export type SystemLog = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

class CoreDisposable implements Disposable {
  #callback: (() => void) | undefined;

  constructor(callback: () => void) {
    this.#callback = callback;
  }

  static from(...items: Disposable[]): CoreDisposable {
    return new CoreDisposable(() => items.forEach((d) => d.dispose()));
  }

  dispose(): void {
    this.#callback?.();
    this.#callback = undefined;
  }
}

/** What the app sees as `require('@azure/functions-core')`, plus the host's view of it. */
export class CoreShim {
  readonly functions = new Map<string, CapturedFunction>();
  readonly hooks = new Map<string, HookCallback[]>();
  private model: ProgrammingModel | undefined;
  private modelSets = 0;
  private systemLog: SystemLog = () => undefined;

  /** The module object itself: the members the worker's types-core declares. */
  readonly api = {
    version: '3.10.1',
    hostVersion: '4.1040.0',
    Disposable: CoreDisposable,
    registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback): Disposable => {
      const key = metadata.name.toLowerCase();
      if (this.functions.has(key)) throw new Error(`A function with the name "${metadata.name}" has already been registered.`);
      this.functions.set(key, { metadata, callback });
      return new CoreDisposable(() => this.functions.delete(key));
    },
    setProgrammingModel: (model: ProgrammingModel): void => {
      this.modelSets++;
      if (this.modelSets > 1) {
        // Two copies of @azure/functions: registrations from each would build request objects of
        // different classes. The worker warns the same way.
        this.systemLog('warning', 'system', `Programming model set more than once (now "${model.name}" ${model.version}): is @azure/functions installed twice?`);
      }
      this.model = model;
    },
    getProgrammingModel: (): ProgrammingModel | undefined => this.model,
    registerHook: (hookName: string, callback: HookCallback): Disposable => {
      const list = this.hooks.get(hookName) ?? [];
      list.push(callback);
      this.hooks.set(hookName, list);
      return new CoreDisposable(() => {
        const i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      });
    },
    log: (level: RpcLogLevel, category: RpcLogCategory, message: string): void => this.systemLog(level, category, message),
  };

  get programmingModel(): ProgrammingModel | undefined {
    return this.model;
  }

  setSystemLog(log: SystemLog): void {
    this.systemLog = log;
  }

  hooksFor(name: string): HookCallback[] {
    return [...(this.hooks.get(name) ?? [])];
  }
}

type ModuleLoad = (request: string, parent: unknown, isMain: boolean) => unknown;
interface ModuleInternals {
  _load: ModuleLoad;
}

let installed: CoreShim | undefined;

/** Installs the process-wide shim once; later calls return the same one. */
export function installCoreShim(): CoreShim {
  if (installed) return installed;
  const shim = new CoreShim();
  const internals = Module as unknown as ModuleInternals;
  const original = internals._load;
  internals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (request === '@azure/functions-core') return shim.api;
    return original.call(this, request, parent, isMain);
  };
  installed = shim;
  return shim;
}
