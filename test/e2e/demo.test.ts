/**
 * `npm run demo` keeps working: the same script at a small scale (embedded PostgreSQL 17 source
 * and target, Online migration with writes, cutover, verification) exits 0 only when equal.
 * It runs from a checkout inside a mode-700 folder (what `mktemp -d` or /root gives): run as
 * root, the servers run as the `postgres` user, who cannot enter it (issue #18).
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../support/host';

const run = promisify(execFile);
const privateDir = mkdtempSync(join(tmpdir(), 'pgferry-demo-'));
afterAll(() => rmSync(privateDir, { recursive: true, force: true }));

/** A runnable checkout (package.json, dist/, node_modules) inside a folder only its owner may enter. */
function privateCheckout(): string {
  chmodSync(privateDir, 0o700);
  const checkout = join(privateDir, 'pgferry');
  cpSync(join(ROOT, 'package.json'), join(checkout, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(checkout, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  return checkout;
}

describe('npm run demo', () => {
  it('migrates the sample database online from a mode-700 checkout and reports the target equal to the source', async () => {
    await ensureBuilt();
    const checkout = privateCheckout();
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const { stdout } = await run(process.execPath, [join(checkout, 'dist', 'emulator', 'demo.js'), '--scale', '0.01'], { cwd: checkout, timeout: 240_000 });
    expect(stdout).toContain('migration demo-migration: Succeeded');
    expect(stdout).toContain('result: the target equals the source');
    expect(stdout).not.toContain('DIFFERENT');
  }, 300_000);
});
