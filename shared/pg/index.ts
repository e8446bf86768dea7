/** Connections to PostgreSQL: SSL modes, classified failures, identifier quoting, server facts. */
export * from './endpoint';
export * from './ident';
export * from './ssl';
export * from './retryable';
export * from './errors';
export * from './classify';
export * from './connect';
export * from './server-facts';
export * from './test-connection';
export * from './list-databases';
export * from './user-schemas';
export * from './databases';
