/**
 * Errors the service raises for the HTTP layer, each with its status and an ARM-style error body
 * (`{ error: { code, message } }`). Request validation errors carry their own body (shared/model).
 */
import { apiVersionProblem } from '../model/arm';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'ResourceNotFound', `${what} was not found`);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);

/**
 * ARM's check of the `api-version` query parameter, with ARM's codes
 * (MissingApiVersionParameter, InvalidApiVersionParameter) and a 400.
 */
export function requireApiVersion(raw: string | null): void {
  const problem = apiVersionProblem(raw);
  if (problem) throw new ApiError(400, problem.code, problem.message);
}
