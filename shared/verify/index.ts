/** Verification, source against target: row counts, order-independent checksums, large objects. */
export * from './checksum';
export * from './compare';
export * from './large-objects';
