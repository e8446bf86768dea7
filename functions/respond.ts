/**
 * One place that turns what the service throws into an HTTP answer: request validation → 400
 * naming the field, ApiError → its status, anything else → 500 with a generic message (the detail
 * goes to the log, which never holds request bodies).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { RequestValidationError, parseJsonBody } from '../shared/model/errors';
import { ApiError } from '../shared/api/errors';

export async function readJson(req: HttpRequest): Promise<unknown> {
  const parsed = parseJsonBody(await req.text());
  if (!parsed.ok) throw new RequestValidationError(parsed.error);
  return parsed.value;
}

export function errorResponse(err: unknown, context: InvocationContext): HttpResponseInit {
  if (err instanceof RequestValidationError) return { status: 400, jsonBody: { error: err.body } };
  if (err instanceof ApiError) return { status: err.status, jsonBody: { error: { code: err.code, message: err.message } } };
  context.error(`unhandled error in ${context.functionName}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
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
