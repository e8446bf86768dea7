/**
 * The app's functions as the host dispatches them, sorted by trigger type from the metadata
 * @azure/functions registered (toCoreFunctionMetadata). Names are case-insensitive, as in Azure.
 */
import type { CapturedFunction } from './core-shim';
import type { RpcBindingInfo } from './core-types';

interface BaseFunction {
  name: string;
  /** Binding name of the trigger: the inputData entry the trigger value goes in. */
  triggerName: string;
  /** In-bindings of type durableClient, which get the client's binding value. */
  clientBindings: string[];
  fn: CapturedFunction;
}

export interface HttpFunction extends BaseFunction {
  kind: 'http';
  /** Route template without the routePrefix; the function name when the app gave none. */
  route: string;
  /** Upper-case methods; empty means every method. */
  methods: string[];
}

export interface DurableFunction extends BaseFunction {
  kind: 'orchestration' | 'activity' | 'entity';
}

export interface OtherFunction extends BaseFunction {
  kind: 'other';
  triggerType: string;
}

export type AppFunction = HttpFunction | DurableFunction | OtherFunction;

export interface Registry {
  all: AppFunction[];
  http: HttpFunction[];
  orchestrations: Map<string, DurableFunction>;
  activities: Map<string, DurableFunction>;
}

const CLIENT_TYPES = new Set(['durableclient', 'orchestrationclient']);

function isTrigger(type: string | null | undefined): boolean {
  return typeof type === 'string' && type.toLowerCase().endsWith('trigger');
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((m): m is string => typeof m === 'string') : [];
}

export function classify(captured: Iterable<CapturedFunction>): Registry {
  const registry: Registry = { all: [], http: [], orchestrations: new Map(), activities: new Map() };
  for (const fn of captured) {
    const entries = Object.entries(fn.metadata.bindings);
    const trigger = entries.find(([, b]) => b.direction === 'in' && isTrigger(b.type));
    if (!trigger) continue;
    const [triggerName, binding] = trigger;
    const base = {
      name: fn.metadata.name,
      triggerName,
      clientBindings: entries
        .filter(([, b]: [string, RpcBindingInfo]) => b.direction === 'in' && CLIENT_TYPES.has(String(b.type).toLowerCase()))
        .map(([n]) => n),
      fn,
    };
    const type = String(binding.type);
    let entry: AppFunction;
    switch (type.toLowerCase()) {
      case 'httptrigger':
        entry = {
          ...base,
          kind: 'http',
          route: typeof binding.route === 'string' && binding.route.trim() !== '' ? binding.route : fn.metadata.name,
          methods: stringList(binding.methods).map((m) => m.toUpperCase()),
        };
        registry.http.push(entry);
        break;
      case 'orchestrationtrigger':
        entry = { ...base, kind: 'orchestration' };
        registry.orchestrations.set(base.name.toLowerCase(), entry);
        break;
      case 'activitytrigger':
        entry = { ...base, kind: 'activity' };
        registry.activities.set(base.name.toLowerCase(), entry);
        break;
      case 'entitytrigger':
        entry = { ...base, kind: 'entity' };
        break;
      default:
        entry = { ...base, kind: 'other', triggerType: type };
    }
    registry.all.push(entry);
  }
  return registry;
}
