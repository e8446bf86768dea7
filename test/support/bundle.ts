/**
 * Bundles a TypeScript entry into one CommonJS file that plain `node` runs, so a child process
 * starts fast and its memory is pgferry's alone (no TypeScript loader in it). The copy fault test
 * kills such a child (copy-child.ts) at random points.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

export async function bundleScript(entry: string): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'pgferry-bundle-')), `${basename(entry, '.ts')}.js`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    // Optional native bindings node-pg probes for and does not need.
    external: ['pg-native', 'pg-cloudflare'],
    logLevel: 'error',
  });
  return outfile;
}
