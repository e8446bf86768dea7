/**
 * `npm run demo` keeps working: the same script at a small scale (embedded PostgreSQL 17 source
 * and target, Online migration with writes, cutover, verification) exits 0 only when equal.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../support/host';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('migrates the sample database online and reports the target equal to the source', async () => {
    await ensureBuilt();
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'emulator', 'demo.js'), '--scale', '0.01'], { cwd: ROOT, timeout: 240_000 });
    expect(stdout).toContain('migration demo-migration: Succeeded');
    expect(stdout).toContain('result: the target equals the source');
    expect(stdout).not.toContain('DIFFERENT');
  }, 300_000);
});
