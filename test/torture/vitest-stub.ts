/** What `import … from 'vitest'` gives under `npm run torture` (vite-node, see vite.config.mts): nothing usable. */
const unavailable = (name: string) => () => {
  throw new Error(`vitest's ${name} is not available outside a vitest run`);
};

export const expect = Object.assign(unavailable('expect'), { fail: unavailable('expect.fail') });
export const inject = unavailable('inject');
export const beforeAll = unavailable('beforeAll');
export const afterAll = unavailable('afterAll');
