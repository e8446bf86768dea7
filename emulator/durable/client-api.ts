/**
 * The Durable extension's HTTP API under /runtime/webhooks/durabletask, which the v3
 * DurableClient calls through rpcBaseUrl and scripts call directly (`az rest`, curl):
 * start, status (one, all, filtered, paged), raise event, terminate and purge.
 * Suspend, resume, rewind, restart and entities answer 501. The taskHub, connection and code
 * query parameters of the URL templates are accepted and ignored: this host serves one hub.
 */
import { json, text, type HostRequest, type HostResponse } from '../http/server';
import type { Engine } from './engine';
import { WEBHOOK_PATH, managementPayload } from './client-binding';
import type { HistoryEvent } from './history';
import { RUNTIME_STATUSES, isTerminal, type InstanceRecord, type RuntimeStatus } from './model';
import { toStatus } from './status';
import type { DurableStore } from './store';

export interface ClientApiDeps {
  engine: Engine;
  store: DurableStore;
  hubName: string;
}

const NOT_IMPLEMENTED = new Set(['suspend', 'resume', 'rewind', 'restart']);

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function flag(q: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = q.get(name);
  return v === null ? fallback : v.toLowerCase() === 'true';
}

/** JSON text of a request body; empty is "no input". Throws on text that is not JSON. */
function bodyJson(req: HostRequest): string | undefined {
  const t = req.body.toString('utf8').trim();
  if (t === '') return undefined;
  JSON.parse(t);
  return t;
}

interface Filter {
  from?: number;
  to?: number;
  statuses?: Set<string>;
  prefix?: string;
}

export function parseFilter(q: URLSearchParams): Filter | string {
  const f: Filter = {};
  for (const [key, field] of [['createdTimeFrom', 'from'], ['createdTimeTo', 'to']] as const) {
    const v = q.get(key);
    if (v === null || v === '') continue;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return `${key} is not a date: ${v}`;
    f[field] = ms;
  }
  const rs = q.get('runtimeStatus');
  if (rs) {
    const list = rs.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const known = new Map(RUNTIME_STATUSES.map((s) => [s.toLowerCase(), s]));
    const bad = list.find((s) => !known.has(s.toLowerCase()));
    if (bad) return `runtimeStatus ${bad} is not one of ${RUNTIME_STATUSES.join(', ')}`;
    f.statuses = new Set(list.map((s) => known.get(s.toLowerCase()) as RuntimeStatus));
  }
  const prefix = q.get('instanceIdPrefix');
  if (prefix) f.prefix = prefix;
  return f;
}

export function matchesFilter(r: InstanceRecord, f: Filter): boolean {
  const created = Date.parse(r.createdTime);
  return (
    (f.from === undefined || created >= f.from) &&
    (f.to === undefined || created <= f.to) &&
    (f.statuses === undefined || f.statuses.has(r.status)) &&
    (f.prefix === undefined || r.instanceId.startsWith(f.prefix))
  );
}

export class ClientApi {
  constructor(private readonly d: ClientApiDeps) {}

  /** Whether `rawPath` belongs to this API. */
  static owns(rawPath: string): boolean {
    return rawPath === WEBHOOK_PATH || rawPath.startsWith(`${WEBHOOK_PATH}/`);
  }

  async handle(req: HostRequest): Promise<HostResponse> {
    const parts = req.rawPath.slice(WEBHOOK_PATH.length).split('/').filter((p) => p !== '').map(decode);
    const [area, id, op, opArg] = parts;
    const m = req.method;
    if (area === 'orchestrators' && id !== undefined && m === 'POST' && parts.length <= 3) return this.startNew(req, id, op);
    if (area === 'instances') {
      if (id === undefined) {
        if (m === 'GET') return this.list(req);
        if (m === 'DELETE') return this.purgeBy(req);
      } else if (op === undefined) {
        if (m === 'GET') return this.status(req, id);
        if (m === 'DELETE') return this.purge(id);
      } else if (m === 'POST') {
        if (op === 'raiseEvent' && opArg !== undefined && parts.length === 4) return this.raiseEvent(req, id, opArg);
        if (op === 'terminate' && parts.length === 3) return this.terminate(req, id);
        if (NOT_IMPLEMENTED.has(op)) return text(501, `${op} is not supported by the offline host`);
      }
    }
    if (area === 'entities') return text(501, 'Durable entities are not supported by the offline host');
    return text(404, 'Not Found');
  }

  private async startNew(req: HostRequest, name: string, instanceId: string | undefined): Promise<HostResponse> {
    let input: string | undefined;
    try {
      input = bodyJson(req);
    } catch {
      return text(400, 'The request body must be JSON (the orchestrator input).');
    }
    const version = req.url.searchParams.get('version') ?? undefined;
    const r = await this.d.engine.startNew(name, { instanceId, input, version });
    if (!r.ok) return text(r.status, r.message);
    const payload = managementPayload(req.url.origin, this.d.hubName, r.instanceId);
    return json(202, payload, { location: payload.statusQueryGetUri ?? '', 'retry-after': '10' });
  }

  private async read(id: string): Promise<{ record: InstanceRecord; history: () => Promise<HistoryEvent[]> } | undefined> {
    const live = this.d.engine.activeRecord(id);
    if (live) return { record: live.record, history: () => Promise.resolve(live.history) };
    const record = await this.d.store.readInstance(id);
    return record && { record, history: () => this.d.store.readHistory(id, record.exec.executionId) };
  }

  private async status(req: HostRequest, id: string): Promise<HostResponse> {
    const found = await this.read(id);
    if (!found) return { status: 404 };
    const q = req.url.searchParams;
    const showHistory = flag(q, 'showHistory', false);
    const body = toStatus(found.record, {
      showInput: flag(q, 'showInput', true),
      history: showHistory ? await found.history() : undefined,
      showHistoryOutput: flag(q, 'showHistoryOutput', false),
    });
    if (isTerminal(found.record.status)) return json(200, body);
    const location = `${req.url.origin}${WEBHOOK_PATH}/instances/${encodeURIComponent(id)}?taskHub=${encodeURIComponent(this.d.hubName)}&connection=Storage`;
    return json(202, body, { location, 'retry-after': '5' });
  }

  private async list(req: HostRequest): Promise<HostResponse> {
    const q = req.url.searchParams;
    const f = parseFilter(q);
    if (typeof f === 'string') return text(400, f);
    const all = (await this.d.store.listInstances()).filter((r) => matchesFilter(r, f));
    all.sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.instanceId.localeCompare(b.instanceId));
    const top = Number(q.get('top') ?? '0');
    const token = req.headers['x-ms-continuation-token'];
    const start = token ? Number(Buffer.from(token, 'base64').toString('utf8')) || 0 : 0;
    const page = top > 0 ? all.slice(start, start + top) : all.slice(start);
    const showInput = flag(q, 'showInput', false);
    const headers: Record<string, string> = {};
    if (top > 0 && start + top < all.length) headers['x-ms-continuation-token'] = Buffer.from(String(start + top)).toString('base64');
    return json(200, page.map((r) => toStatus(r, { showInput })), headers);
  }

  private async raiseEvent(req: HostRequest, id: string, name: string): Promise<HostResponse> {
    let input: string | undefined;
    try {
      input = bodyJson(req);
    } catch {
      return text(400, 'The request body must be JSON (the event data).');
    }
    return this.answer(await this.d.engine.raiseEvent(id, name, input), id);
  }

  private async terminate(req: HostRequest, id: string): Promise<HostResponse> {
    return this.answer(await this.d.engine.terminate(id, req.url.searchParams.get('reason') ?? ''), id);
  }

  private answer(r: 'accepted' | 'notFound' | 'gone', id: string): HostResponse {
    if (r === 'accepted') return { status: 202 };
    if (r === 'gone') return text(410, `Instance '${id}' has already finished.`);
    return text(404, `No instance with ID '${id}' found.`);
  }

  private async purge(id: string): Promise<HostResponse> {
    return (await this.d.engine.purge(id)) ? json(200, { instancesDeleted: 1 }) : { status: 404 };
  }

  private async purgeBy(req: HostRequest): Promise<HostResponse> {
    const f = parseFilter(req.url.searchParams);
    if (typeof f === 'string') return text(400, f);
    let deleted = 0;
    for (const r of await this.d.store.listInstances()) {
      if (isTerminal(r.status) && matchesFilter(r, f) && (await this.d.engine.purge(r.instanceId))) deleted++;
    }
    return deleted > 0 ? json(200, { instancesDeleted: deleted }) : { status: 404 };
  }
}
