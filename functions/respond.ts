/**
 * One place that turns what the service throws into an HTTP answer: request validation → 400
 * naming the field, ApiError → its status, anything else → 500 with a generic message. The detail
 * goes to the log as one structured line (shared/log, redacted), which never holds request bodies.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { RequestValidationError, parseJsonBody } from '../shared/model/errors';
import { ApiError } from '../shared/api/errors';
import { Logger, type LogSink } from '../shared/log';

/** Log lines go through the invocation context, so Azure ties them to the invocation in Application Insights. */
export function contextSink(context: InvocationContext): LogSink {
  return (level, line) => {
    if (level === 'error') context.error(line);
    else if (level === 'warn') context.warn(line);
    else if (level === 'debug') context.debug(line);
    else context.log(line);
  };
}

/** A migration request is a few KB; anything past this is a mistake or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;

export async function readJson(req: HttpRequest): Promise<unknown> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  const text = declared > MAX_BODY_BYTES ? '' : await req.text();
  if (declared > MAX_BODY_BYTES || Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new ApiError(413, 'RequestTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes; a migration request is a small JSON object`);
  }
  const parsed = parseJsonBody(text);
  if (!parsed.ok) throw new RequestValidationError(parsed.error);
  return parsed.value;
}

export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (err instanceof RequestValidationError) return { status: 400, jsonBody: { error: err.body } };
  const log = new Logger(contextSink(context), { phase: context.functionName, invocationId: context.invocationId });
  if (err instanceof ApiError) {
    // 5xx answers (storage or orchestration unavailable, not configured) are the operator's to see.
    if (err.status >= 500) log.warn(`${context.functionName} answered ${err.status}`, { status: err.status, code: err.code, error: err.message });
    return { status: err.status, jsonBody: { error: { code: err.code, message: err.message } } };
  }
  log.error(`unhandled error in ${context.functionName}`, { status: 500, error: err });
  return { status: 500, jsonBody: { error: { code: 'InternalServerError', message: 'pgferry hit an unexpected error; see the host log for details' } } };
}

/** Runs a handler and maps its errors. */
export async function answer(context: InvocationContext, fn: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await fn();
  } catch (err) {
    return errorResponse(err, context);
  }
}
