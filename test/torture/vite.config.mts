/**
 * vite-node's config for `npm run torture`: the runner reuses test/support modules (the judge) that
 * import vitest for their expect-style helpers; outside a vitest run that import throws, so it
 * resolves to a stub here. The torture runner never calls those helpers.
 */
import { fileURLToPath } from 'node:url';

export default {
  resolve: { alias: { vitest: fileURLToPath(new URL('./vitest-stub.ts', import.meta.url)) } },
};
