/**
 * The real az CLI against pgferry: `az rest --skip-authorization-header` sends a request to any
 * URL as `az` sends ARM requests (the properties file read by `--body @file`), and the az CLI
 * properties files of the docs are filled in the way their users do it: each `<<placeholder>>`
 * replaced by a value, nothing else touched (test/fixtures/az-cli/README.md).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './host';

export const AZ_FIXTURES = join(ROOT, 'test', 'fixtures', 'az-cli');

export interface Placeholders {
  host: string;
  port: number;
  user: string;
  sourcePassword: string;
  targetPassword: string;
  targetUser: string;
  dbs: string[];
}

/** Text inside a JSON string literal. */
const inString = (v: string) => JSON.stringify(v).slice(1, -1);

/** The docs' file with every placeholder filled; fails if one is left or the result is not JSON. */
export function fillPropertiesFile(name: string, v: Placeholders): string {
  const quotedList = v.dbs.map((d) => JSON.stringify(d)).join(', ');
  const text = readFileSync(join(AZ_FIXTURES, name), 'utf8')
    .replace(/<<(source )?hostname or IP address>>/g, inString(v.host))
    .replace(/<<port>>/g, String(v.port))
    .replace(/<<username>>/g, inString(v.user))
    .replace(/<<Source Password>>/g, inString(v.sourcePassword))
    .replace(/<<Target Password>>/g, inString(v.targetPassword))
    .replace(/<<Target username>>/g, inString(v.targetUser))
    // The three ways the docs leave the database list to fill: a string that says "an array", a
    // string inside the array, and bare text inside it.
    .replace(/"<<comma separated list of databases in a array[^\n]*>>"/g, `[${quotedList}]`)
    .replace(/"<<comma separated list of databases like[^\n]*>>"/g, quotedList)
    .replace(/<< comma separated list of databases like[^\n]*>>/g, quotedList);
  if (text.includes('<<')) throw new Error(`${name}: a placeholder is left: ${text.slice(text.indexOf('<<'), text.indexOf('<<') + 60)}`);
  JSON.parse(text);
  return text;
}

export interface AzResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

let configDir: string | undefined;

/** `az rest --skip-authorization-header --method <method> --url <url> [--body @file]`, in a config dir of its own. */
export function azRest(method: string, url: string, body?: string): Promise<AzResult> {
  configDir ??= mkdtempSync(join(tmpdir(), 'pgferry-az-'));
  const args = ['rest', '--skip-authorization-header', '--method', method, '--url', url, '--output', 'json'];
  if (body !== undefined) {
    const file = join(configDir, `body-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, body);
    args.push('--body', `@${file}`);
  }
  const env = { ...process.env, AZURE_CONFIG_DIR: configDir, AZURE_CORE_COLLECT_TELEMETRY: 'false', AZURE_CORE_NO_COLOR: 'true', AZURE_CORE_ONLY_SHOW_ERRORS: 'true' };
  return new Promise((resolve) => {
    execFile('az', args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}
