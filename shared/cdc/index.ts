/**
 * The CDC engine's public API: slots, reading, decoders, applier, lag, the drain rule. Shaped like its
 * pipeline: read/ (SQL peek, replication stream) → decode/ (wal2json, pgoutput) → apply/ (loop,
 * groups, writer, statements); what every stage shares sits at the top.
 */
export * from './defaults';
export * from './change';
export * from './lsn';
export * from './slot';
export * from './slot-position';
export * from './session';
export * from './types';
export * from './errors';
export * from './progress';
export * from './metrics';
export * from './read/read-sql';
export * from './read/read-stream';
export * from './decode/peek-row';
export * from './decode/wal2json';
export * from './decode/pgoutput';
export { pgTimestampToIso } from './decode/pgoutput-message';
export * from './apply/options';
export * from './apply/apply-batch';
export * from './apply/quiet';
export * from './apply/visibility';
export * from './apply/target-tables';
export * from './apply/apply-sql';
export * from './apply/writer-context';
export * from './apply/writer';
