/** Verification: row counts and order-independent checksums, source against target. */
export * from './checksum';
export * from './compare';
export * from './large-objects';
