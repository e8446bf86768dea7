/**
 * Invokes a registered function exactly as the Node worker's InvocationHandler does: the app's own
 * programming model turns RPC input data into the handler's arguments, pre- and post-invocation
 * hooks run around the call, and for HTTP the model turns the result back into an RPC response.
 * The host therefore never builds @azure/functions objects itself and needs no copy of it.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import type { CoreShim } from './core-shim';
import type {
  CoreInvocationContext,
  InvocationState,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcTypedData,
} from './core-types';
import type { Logger } from './log';
import type { AppFunction } from './registry';

export interface InvocationRequest {
  fn: AppFunction;
  inputData: RpcParameterBinding[];
  triggerMetadata?: Record<string, RpcTypedData>;
  /** Convert the result to the RPC response (HTTP functions); otherwise only the raw result. */
  withResponse?: boolean;
}

export interface InvocationResult {
  invocationId: string;
  /** What the handler returned, untouched (orchestrators: the OrchestratorState object). */
  result: unknown;
  response?: RpcInvocationResponse;
  ms: number;
}

/** The handler (or a hook) threw; `cause` is what it threw. */
export class InvocationError extends Error {
  constructor(
    readonly invocationId: string,
    readonly ms: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'InvocationError';
  }
}

const USER_LEVELS: Record<RpcLogLevel, 'debug' | 'info' | 'warn' | 'error' | undefined> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

export class Invoker {
  /** Shared by app-level hooks for the life of the host, as the worker's app.appHookData. */
  readonly appHookData: Record<string, unknown> = {};

  constructor(
    private readonly shim: CoreShim,
    private readonly log: Logger,
  ) {}

  /** Runs appStart / appTerminate hooks. */
  async runAppHooks(name: 'appStart' | 'appTerminate', functionAppDirectory: string): Promise<void> {
    const hookData: Record<string, unknown> = {};
    for (const hook of this.shim.hooksFor(name)) {
      await hook({ hookData, appHookData: this.appHookData, functionAppDirectory });
    }
  }

  async invoke(req: InvocationRequest): Promise<InvocationResult> {
    const model = this.shim.programmingModel;
    if (!model) throw new Error('the app registered no functions: @azure/functions never set its programming model');
    const invocationId = randomUUID();
    const fnName = req.fn.name;
    const started = performance.now();
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: { invocationId, inputData: req.inputData, triggerMetadata: req.triggerMetadata ?? {} },
      metadata: req.fn.fn.metadata,
      state: undefined,
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => this.userLog(fnName, level, category, message),
    };
    const setState = (s: InvocationState) => { coreCtx.state = s; };

    const invocModel = model.getInvocationModel(coreCtx);
    const { context, inputs } = await invocModel.getArguments();
    const hookData: Record<string, unknown> = {};
    const pre = { hookData, appHookData: this.appHookData, invocationContext: context, functionCallback: req.fn.fn.callback, inputs };
    setState('preInvocationHooks');
    try {
      for (const hook of this.shim.hooksFor('preInvocation')) await hook(pre);
    } catch (e) {
      throw new InvocationError(invocationId, performance.now() - started, e);
    } finally {
      setState(undefined);
    }

    const post: Record<string, unknown> = { hookData, appHookData: this.appHookData, invocationContext: context, inputs: pre.inputs, result: null, error: null };
    setState('invocation');
    try {
      post.result = await invocModel.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (e) {
      post.error = e;
    } finally {
      setState(undefined);
    }
    setState('postInvocationHooks');
    try {
      for (const hook of this.shim.hooksFor('postInvocation')) await hook(post);
    } catch (e) {
      post.error = e;
    } finally {
      setState(undefined);
    }
    if (post.error !== null && post.error !== undefined) {
      throw new InvocationError(invocationId, performance.now() - started, post.error);
    }
    const response = req.withResponse ? await invocModel.getResponse(context, post.result) : undefined;
    return { invocationId, result: post.result, response, ms: performance.now() - started };
  }

  private userLog(fnName: string, level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    const to = USER_LEVELS[level];
    if (to === undefined) return;
    if (category === 'system' && (to === 'info' || to === 'debug')) {
      this.log.debug(`[${fnName}] ${message}`);
      return;
    }
    this.log[to](`[${fnName}] ${message}`);
  }
}
