/** Table Storage repositories: the durable state and progress of every migration (tables.ts lists them). */

export * from './errors';
export { keyOf, partsOf, keyRange, padNumber } from './keys';
export { LIMITS, clipText, type JsonValue } from './entity-codec';
export type { UpdateOptions, Versioned } from './table-ops';
export * from './tables';
export * from './migrations';
export * from './databases';
export * from './validation';
export * from './chunks';
export * from './purge';
