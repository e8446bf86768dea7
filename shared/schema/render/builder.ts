/**
 * What every renderer writes into: the objects so far, the catalog addresses that stand for each
 * object (so pg_depend rows can be turned into edges), comments to attach, and warnings.
 */
import type { Comments } from '../catalog/comments';
import { commentKey } from '../catalog/comments';
import type { PlanWarning, SchemaObject } from '../model';

export interface RenderOptions {
  sourceVersionNum: number;
  targetVersionNum: number;
  /** Roles that exist on the target; null when unknown (every role is then assumed to exist). */
  targetRoles: ReadonlySet<string> | null;
  /** Extension name → versions the target can install; null when unknown. */
  targetExtensions: ReadonlyMap<string, readonly string[]> | null;
  /** Build plain indexes with CREATE INDEX CONCURRENTLY (no write lock; not in a transaction). */
  concurrentIndexes: boolean;
  /** Built-in collations of the target; null when unknown. */
  targetCollations?: ReadonlySet<string> | null;
  /**
   * Create user triggers and rules disabled; restoreTriggerStates() gives them the source's states
   * at completion. Replay must not fire them, whatever the target login can do: without
   * superuser session_replication_role = replica cannot be set, and even with it ENABLE ALWAYS /
   * ENABLE REPLICA triggers and rules fire.
   */
  holdTriggers?: boolean;
  /**
   * Create foreign keys once replay has drained (readiness 'drained'): for a target login that
   * cannot set session_replication_role, whose replay would fire their actions (a cascaded delete
   * replayed after the target cascaded it itself) and checks between tables.
   */
  holdForeignKeys?: boolean;
  /**
   * Create GENERATED ALWAYS identity columns BY DEFAULT; restoreIdentityKinds() makes them ALWAYS
   * again at completion. An UPDATE cannot set an ALWAYS column to a value (only to DEFAULT), so
   * replay could not carry a source `UPDATE … SET id = DEFAULT` (a new key) otherwise.
   */
  holdIdentity?: boolean;
}

/** Items grouped by key, in input order (Map.groupBy arrives only with Node 21). */
export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** `catalog:oid`, the key pg_depend rows are matched on. */
export function address(catalog: string, oid: number): string {
  return `${catalog}:${oid}`;
}

export class PlanBuilder {
  readonly objects: SchemaObject[] = [];
  readonly byId = new Map<string, SchemaObject>();
  /** Catalog address → id of the object that creates it. */
  readonly addresses = new Map<string, string>();
  /** Address → address it stands for (array → element type, row type → relation …). */
  readonly aliases = new Map<string, string>();
  readonly warnings: PlanWarning[] = [];
  /** Role missing on the target → objects whose owner or grants could not be kept. */
  readonly missingRoles = new Map<string, string[]>();
  /** Partitioned index id → its partitions' attach objects (it is valid once all have run). */
  readonly indexAttaches = new Map<string, Array<{ attachId: string; childId: string }>>();

  constructor(
    readonly options: RenderOptions,
    readonly comments: Comments,
  ) {}

  add(obj: SchemaObject, ...addresses: string[]): SchemaObject {
    if (this.byId.has(obj.id)) throw new Error(`duplicate schema object id ${obj.id}`);
    this.objects.push(obj);
    this.byId.set(obj.id, obj);
    for (const a of addresses) this.addresses.set(a, obj.id);
    return obj;
  }

  /** Maps an address to an object without creating one (e.g. a column default kept inline). */
  alias(addr: string, objectId: string): void {
    this.addresses.set(addr, objectId);
  }

  /** The object an address stands for, following type aliases. */
  resolve(addr: string): string | undefined {
    let a = addr;
    for (let i = 0; i < 4; i++) {
      const direct = this.addresses.get(a);
      if (direct) return direct;
      const next = this.aliases.get(a);
      if (!next) return undefined;
      a = next;
    }
    return undefined;
  }

  /** `COMMENT ON <target> IS '…'` when the source has a comment on the object. */
  comment(catalog: string, oid: number, target: string, subid = 0): string[] {
    const text = this.comments.get(commentKey(catalog, oid, subid));
    return text === undefined ? [] : [`COMMENT ON ${target} IS ${text}`];
  }

  /** Whether a role can be named on the target; records the object when it cannot. */
  roleExists(role: string, forObject: string): boolean {
    const roles = this.options.targetRoles;
    if (roles === null || roles.has(role)) return true;
    const list = this.missingRoles.get(role) ?? [];
    if (!list.includes(forObject)) list.push(forObject);
    this.missingRoles.set(role, list);
    return false;
  }

  warn(warning: PlanWarning): void {
    this.warnings.push(warning);
  }
}
