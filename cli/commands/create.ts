/**
 * `pgferry create --server S --name N --properties file.json [--mode M] [--option O]`: the az CLI
 * properties file is sent unchanged (top-level "properties", keys in any case, "true" strings);
 * --mode / --option replace whatever the file says, as the az CLI's flags do.
 */
import { readFile } from 'node:fs/promises';
import { UsageError, type Command } from '../args';
import { EXIT, type ExitCode } from '../exit-codes';
import { databaseTable, statusLine } from '../format';
import { printJson, type CommandContext } from './context';

type CreateCommand = Extract<Command, { name: 'create' }>;

export async function readPropertiesFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the properties file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'create');
  }
  let body: unknown;
  try {
    body = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UsageError(`the properties file ${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'create');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UsageError(`the properties file ${path} must hold a JSON object such as {"properties": {…}}`, 'create');
  }
  return body as Record<string, unknown>;
}

/** Sets `key` in `obj`, replacing any spelling of it in another letter case. */
function setCaseInsensitive(obj: Record<string, unknown>, key: string, value: unknown): void {
  for (const k of Object.keys(obj)) if (k.toLowerCase() === key.toLowerCase()) delete obj[k];
  obj[key] = value;
}

/** The file's body with the flags applied; everything else is left for the service to judge. */
export function applyFlags(body: Record<string, unknown>, mode?: string, option?: string): Record<string, unknown> {
  if (mode === undefined && option === undefined) return body;
  const out = { ...body };
  const propsKey = Object.keys(out).find((k) => k.toLowerCase() === 'properties') ?? 'properties';
  const current = out[propsKey];
  const props: Record<string, unknown> = typeof current === 'object' && current !== null && !Array.isArray(current) ? { ...(current as Record<string, unknown>) } : {};
  if (mode !== undefined) setCaseInsensitive(props, 'migrationMode', mode);
  if (option !== undefined) setCaseInsensitive(props, 'migrationOption', option);
  out[propsKey] = props;
  return out;
}

export async function create(cmd: CreateCommand, ctx: CommandContext): Promise<ExitCode> {
  const body = applyFlags(await readPropertiesFile(cmd.propertiesFile), cmd.mode, cmd.option);
  const m = await ctx.client.create(cmd.server, cmd.migration, body);
  if (ctx.output === 'json') {
    printJson(ctx.io, m);
  } else {
    ctx.io.out(`Created ${statusLine(m)} (${m.properties.migrationMode}, ${m.properties.migrationOption}) on ${cmd.server}`);
    ctx.io.out(databaseTable(m));
    ctx.io.out(`Follow it with: pgferry watch --server ${cmd.server} --name ${m.name}`);
  }
  return EXIT.ok;
}
