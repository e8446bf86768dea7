/**
 * Errors the service raises for the HTTP layer, each with its status and an ARM-style error body
 * (`{ error: { code, message } }`). Request validation errors carry their own body (shared/model).
 */
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
