/** The data copy: inventory, chunk planner and copy units, chunk and group pipelines, large objects, sequences, progress. */
export * from './types';
export * from './errors';
export * from './tables';
export * from './snapshot';
export * from './plan';
export * from './session';
export * from './bookkeeping';
export * from './copy-chunk';
export * from './copy-group';
export * from './large-objects';
export * from './sequences';
export * from './progress';
export * from './replay-map';
