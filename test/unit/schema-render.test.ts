/**
 * DDL rendering, from hand-made catalog rows to the plan's statements: no server involved.
 */
import { describe, expect, it } from 'vitest';
import { buildPlan, type Catalog, type SchemaObject, type SchemaPlan } from '../../shared/schema';
import type { AclItem } from '../../shared/schema/catalog/filters';
import type { IndexRow } from '../../shared/schema/catalog/indexes';
import type { ColumnRow, TableRow } from '../../shared/schema/catalog/tables';
import type { AggregateRow } from '../../shared/schema/catalog/functions';
import { aggregateOptions } from '../../shared/schema/render/functions';
import { collationOptions } from '../../shared/schema/render/collations';
import { policySql } from '../../shared/schema/render/policies';
import { runs } from '../../shared/schema/render/acl';
import type { RenderOptions } from '../../shared/schema/render/builder';

function emptyCatalog(): Catalog {
  return {
    schemas: [], extensions: [], extensionMembers: [], collations: [], collationsInUse: [], enums: [], domains: [], domainConstraints: [],
    composites: [], ranges: [], typeAliases: [], functions: [], aggregates: [], sequences: [], tables: [], columns: [],
    checks: [], foreignKeys: [], indexes: [], views: [], viewRules: [], triggers: [], rules: [], policies: [],
    statistics: [], defaultAcls: [], comments: new Map(), depends: [], internalDepends: [], unsupported: [],
  };
}

const noAcl = { owner: 'alice', acl_default: true, acl: null };

function table(oid: number, name: string, over: Partial<TableRow> = {}): TableRow {
  return {
    oid, schema: 'app', name, relkind: 'r', unlogged: false, is_partition: false, partition_key: null, partition_bound: null,
    parents: [], options: null, toast_options: null, replica_identity: 'd', row_security: false, force_row_security: false,
    has_oids: false, of_type: 0, ...noAcl, ...over,
  };
}

function column(relid: number, attnum: number, name: string, type: string, over: Partial<ColumnRow> = {}): ColumnRow {
  return {
    relid, attnum, name, type, type_oid: type === 'integer' ? 23 : type === 'bigint' ? 20 : 25, not_null: false, is_local: true,
    inh_count: 0, default_oid: null, default_expr: null, identity: '', generated: '', storage: 'p', type_storage: 'p',
    stat_target: -1, options: null, compression: '', collation: null, acl: null, ...over,
  };
}

function index(oid: number, relid: number, name: string, def: string, over: Partial<IndexRow> = {}): IndexRow {
  return {
    oid, relid, schema: 'app', name, relkind: 'i', table_relkind: 'r', unique: false, valid: true, replica_identity: false,
    clustered: false, def, columns: ['id'], key_count: 1, partial: false, expressions: false, constraint_oid: null,
    constraint_name: null, constraint_type: null, constraint_def: null, deferrable: false, deferred: false, parent_index: null,
    stat_targets: [], ...over,
  };
}

const options: RenderOptions = { sourceVersionNum: 150000, targetVersionNum: 150000, targetRoles: null, targetExtensions: null, concurrentIndexes: false };

function plan(c: Catalog, over: Partial<RenderOptions> = {}): SchemaPlan {
  return buildPlan(c, { ...options, ...over });
}

function find(p: SchemaPlan, name: string): SchemaObject {
  const o = p.objects.find((x) => x.name === name);
  if (!o) throw new Error(`no object ${name} in ${p.objects.map((x) => x.name).join(', ')}`);
  return o;
}

describe('tables', () => {
  it('renders columns with identity, generated, defaults, collation, compression, NOT NULL and checks, all quoted', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 'Order Items', { options: [`fillfactor='80'`], toast_options: [`autovacuum_enabled='false'`], unlogged: true }));
    c.sequences.push({
      oid: 11, schema: 'app', name: 'Order Items_id_seq', unlogged: false, type: 'bigint', start: '5', increment: '2', min: '1',
      max: '9223372036854775807', cache: '1', cycle: false, owned_by_table: null, owned_by_column: null, identity: true,
      identity_table: 10, identity_attnum: 1, ...noAcl,
    });
    c.columns.push(
      column(10, 1, 'id', 'bigint', { identity: 'a', not_null: true }),
      column(10, 2, 'select', 'text', { collation: ['app', 'Case Insensitive'], compression: 'p', default_oid: 50, default_expr: `'x'::text` }),
      column(10, 3, 'lower', 'text', { generated: 's', default_oid: 51, default_expr: 'lower("select")' }),
      column(10, 4, 'notes', 'text', { storage: 'e', type_storage: 'x', stat_target: 500, options: [`n_distinct='5'`] }),
    );
    c.checks.push({ oid: 60, relid: 10, name: 'Qty > 0', def: 'CHECK ((qty > 0))', validated: true, is_local: true, inh_count: 0 });
    const t = find(plan(c), 'table "app"."Order Items"');
    expect(t.sql[0]).toBe(
      'CREATE UNLOGGED TABLE "app"."Order Items" (\n' +
        '    "id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "app"."Order Items_id_seq" START WITH 5 INCREMENT BY 2 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 NO CYCLE) NOT NULL,\n' +
        `    "select" text COMPRESSION pglz COLLATE "app"."Case Insensitive" DEFAULT 'x'::text,\n` +
        '    "lower" text GENERATED ALWAYS AS (lower("select")) STORED,\n' +
        '    "notes" text,\n' +
        '    CONSTRAINT "Qty > 0" CHECK ((qty > 0))\n' +
        `) WITH (fillfactor='80', toast.autovacuum_enabled='false')`,
    );
    expect(t.sql.slice(1)).toEqual([
      'ALTER TABLE ONLY "app"."Order Items" ALTER COLUMN "notes" SET STORAGE EXTERNAL',
      'ALTER TABLE ONLY "app"."Order Items" ALTER COLUMN "notes" SET STATISTICS 500',
      `ALTER TABLE ONLY "app"."Order Items" ALTER COLUMN "notes" SET (n_distinct='5')`,
    ]);
    expect(t.check).toMatchObject({ params: ['"app"."Order Items"'] });
    expect(t.check?.sql).not.toContain('Order Items');
  });

  it('creates a partition as a table with every column and check, then attaches it', () => {
    const c = emptyCatalog();
    c.tables.push(
      table(10, 'm', { relkind: 'p', partition_key: 'RANGE (logdate)' }),
      table(11, 'm_2024', { is_partition: true, parents: [10], partition_bound: `FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')` }),
      table(12, 'm_default', { is_partition: true, parents: [10], partition_bound: 'DEFAULT' }),
    );
    for (const rel of [10, 11, 12]) c.columns.push(column(rel, 1, 'logdate', 'date', { is_local: rel === 10, not_null: true }));
    c.checks.push({ oid: 70, relid: 11, name: 'c', def: 'CHECK (true)', validated: true, is_local: false, inh_count: 1 });
    const p = plan(c);
    expect(find(p, 'table "app"."m"').sql[0]).toBe('CREATE TABLE "app"."m" (\n    "logdate" date NOT NULL\n) PARTITION BY RANGE (logdate)');
    expect(find(p, 'table "app"."m_2024"').sql[0]).toBe('CREATE TABLE "app"."m_2024" (\n    "logdate" date NOT NULL,\n    CONSTRAINT "c" CHECK (true)\n)');
    expect(find(p, 'partition "app"."m_default" of "app"."m"')).toMatchObject({
      phase: 'pre-data',
      sql: ['ALTER TABLE ONLY "app"."m" ATTACH PARTITION "app"."m_default" DEFAULT'],
      deps: expect.arrayContaining(['table:10', 'table:12']),
    });
    expect(p.tables.find((t) => t.name === 'm_2024')).toMatchObject({ partitionOf: '"app"."m"', partitioned: false });
    // A partitioned table holds no rows: no ANALYZE of its own.
    expect(p.objects.some((o) => o.name === 'analyze "app"."m"')).toBe(false);
  });

  it('creates an inheritance child with its local columns only, and fixes inherited defaults and NOT NULL', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 'parent'), table(11, 'child', { parents: [10] }));
    c.columns.push(
      column(10, 1, 'wheels', 'integer', { default_oid: 1, default_expr: '4' }),
      column(10, 2, 'name', 'text'),
      column(11, 1, 'wheels', 'integer', { is_local: false, inh_count: 1, default_oid: 2, default_expr: '5', not_null: true }),
      column(11, 2, 'name', 'text', { is_local: false, inh_count: 1 }),
      column(11, 3, 'doors', 'integer'),
      column(11, 4, 'extra', 'integer', { is_local: false, inh_count: 1 }),
    );
    c.columns.push(column(10, 3, 'extra', 'integer', { default_oid: 3, default_expr: '1' }));
    expect(find(plan(c), 'table "app"."child"').sql).toEqual([
      'CREATE TABLE "app"."child" (\n    "doors" integer\n) INHERITS ("app"."parent")',
      'ALTER TABLE ONLY "app"."child" ALTER COLUMN "wheels" SET DEFAULT 5',
      'ALTER TABLE ONLY "app"."child" ALTER COLUMN "wheels" SET NOT NULL',
      'ALTER TABLE ONLY "app"."child" ALTER COLUMN "extra" DROP DEFAULT',
    ]);
  });

  it('splits a default and a CHECK that call a user function into their own objects', () => {
    const c = emptyCatalog();
    c.schemas.push({ oid: 2, name: 'app', owner_is_default: false, init_acl: null, ...noAcl });
    c.functions.push({ oid: 30, schema: 'app', name: 'ok', kind: 'f', identity_args: 'app.t', def: 'CREATE OR REPLACE FUNCTION app.ok(app.t) …', ...noAcl });
    c.tables.push(table(10, 't'));
    c.columns.push(column(10, 1, 'n', 'bigint', { default_oid: 40, default_expr: 'app.next()' }));
    c.checks.push(
      { oid: 41, relid: 10, name: 'valid', def: 'CHECK (app.ok(t.*))', validated: true, is_local: true, inh_count: 0 },
      { oid: 42, relid: 10, name: 'later', def: 'CHECK ((n > 0)) NOT VALID', validated: false, is_local: true, inh_count: 0 },
    );
    c.typeAliases.push({ oid: 99, catalog: 'pg_class', target: 10 });
    c.depends.push(
      { catalog: 'pg_proc', objid: 30, ref_catalog: 'pg_type', refobjid: 99 },
      { catalog: 'pg_attrdef', objid: 40, ref_catalog: 'pg_proc', refobjid: 30 },
      { catalog: 'pg_constraint', objid: 41, ref_catalog: 'pg_proc', refobjid: 30 },
    );
    const p = plan(c);
    expect(find(p, 'table "app"."t"').sql[0]).toBe('CREATE TABLE "app"."t" (\n    "n" bigint\n)');
    const order = p.objects.map((o) => o.name);
    const at = (n: string) => order.indexOf(n);
    expect(at('table "app"."t"')).toBeLessThan(at('function "app"."ok"(app.t)'));
    expect(at('function "app"."ok"(app.t)')).toBeLessThan(at('constraint "valid" on "app"."t"'));
    expect(at('function "app"."ok"(app.t)')).toBeLessThan(at('default of "app"."t"."n"'));
    expect(find(p, 'default of "app"."t"."n"').sql).toEqual(['ALTER TABLE ONLY "app"."t" ALTER COLUMN "n" SET DEFAULT app.next()']);
    expect(find(p, 'constraint "later" on "app"."t"')).toMatchObject({ phase: 'post-data', sql: ['ALTER TABLE "app"."t" ADD CONSTRAINT "later" CHECK ((n > 0)) NOT VALID'] });
    expect(p.warnings.filter((w) => w.code === 'dependency-cycle')).toEqual([]);
  });

  it('drops WITH OIDS from an old source with a warning', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 'old', { has_oids: true }));
    const p = plan(c, { sourceVersionNum: 110000 });
    expect(find(p, 'table "app"."old"').sql[0]).not.toMatch(/OIDS/);
    expect(p.warnings).toContainEqual(expect.objectContaining({ code: 'dropped-oids' }));
  });
});

describe('keys and indexes', () => {
  it('builds a primary key as a unique index attached USING INDEX, and picks it as the chunk key', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 't'));
    c.columns.push(column(10, 1, 'id', 'bigint', { not_null: true }));
    c.indexes.push(index(20, 10, 't_pkey', 'CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)', { unique: true, constraint_oid: 21, constraint_name: 't_pkey', constraint_type: 'p', constraint_def: 'PRIMARY KEY (id)', clustered: true }));
    const p = plan(c);
    expect(find(p, 'primary key "app"."t_pkey" on "app"."t"')).toMatchObject({
      phase: 'keys',
      readiness: 'table-loaded',
      sql: ['CREATE UNIQUE INDEX t_pkey ON app.t USING btree (id)', 'ALTER TABLE ONLY "app"."t" ADD CONSTRAINT "t_pkey" PRIMARY KEY USING INDEX "t_pkey"', 'ALTER TABLE "app"."t" CLUSTER ON "t_pkey"'],
      check: { params: ['"app"."t"', 't_pkey', '"app"."t_pkey"'], repair: 'DROP INDEX IF EXISTS "app"."t_pkey"' },
    });
    expect(p.tables[0]).toMatchObject({ primaryKey: ['id'], chunkKey: { column: 'id', type: 'bigint' }, keys: ['index:20'] });
  });

  it('adds a partitioned table\'s key ON ONLY the parent and attaches each partition\'s own', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 'p', { relkind: 'p', partition_key: 'LIST (id)' }), table(11, 'p1', { is_partition: true, parents: [10], partition_bound: 'FOR VALUES IN (1)' }));
    c.indexes.push(
      index(20, 10, 'p_pkey', 'CREATE UNIQUE INDEX p_pkey ON ONLY app.p USING btree (id)', { relkind: 'I', table_relkind: 'p', unique: true, valid: false, constraint_oid: 21, constraint_name: 'p_pkey', constraint_type: 'p', constraint_def: 'PRIMARY KEY (id)' }),
      index(22, 11, 'p1_pkey', 'CREATE UNIQUE INDEX p1_pkey ON app.p1 USING btree (id)', { unique: true, constraint_oid: 23, constraint_name: 'p1_pkey', constraint_type: 'p', constraint_def: 'PRIMARY KEY (id)', parent_index: 20 }),
      index(24, 10, 'p_v', 'CREATE INDEX p_v ON ONLY app.p USING btree (v)', { relkind: 'I', table_relkind: 'p', valid: false }),
      index(25, 11, 'p1_v', 'CREATE INDEX p1_v ON app.p1 USING btree (v)', { parent_index: 24 }),
    );
    c.foreignKeys.push({ oid: 30, relid: 10, name: 'p_fk', def: 'FOREIGN KEY (id) REFERENCES app.p(id)', ref_relid: 10 });
    c.depends.push({ catalog: 'pg_constraint', objid: 30, ref_catalog: 'pg_class', refobjid: 20 });
    const p = plan(c);
    expect(find(p, 'primary key "app"."p_pkey" on "app"."p"').sql).toEqual(['ALTER TABLE ONLY "app"."p" ADD CONSTRAINT "p_pkey" PRIMARY KEY (id)']);
    expect(find(p, 'index "app"."p1_pkey" attached to "app"."p_pkey"')).toMatchObject({ phase: 'keys', sql: ['ALTER INDEX "app"."p_pkey" ATTACH PARTITION "app"."p1_pkey"'] });
    expect(find(p, 'index "app"."p_v" on "app"."p"').sql).toEqual(['CREATE INDEX p_v ON ONLY app.p USING btree (v)']);
    // Attaching belongs to the parent's table: it runs once the partition's own index is built.
    expect(find(p, 'index "app"."p1_v" attached to "app"."p_v"')).toMatchObject({ phase: 'post-data', table: 'table:10', deps: ['index:25', 'index:24'] });
    expect(p.tables.find((t) => t.name === 'p1')?.afterLoad).toEqual(['index:25', 'analyze:11']);
    expect(p.tables.find((t) => t.name === 'p')?.afterLoad).toEqual(['index:24', 'index-attach:index:25']);
    // The FK waits for the whole key, attached partitions included; on a partitioned table it recurses (no ONLY).
    const fk = find(p, 'foreign key "p_fk" on "app"."p"');
    expect(fk.sql[0]).toBe('ALTER TABLE "app"."p" ADD CONSTRAINT "p_fk" FOREIGN KEY (id) REFERENCES app.p(id)');
    expect(fk.deps).toContain('index-attach:index:22');
  });

  it('puts the replica-identity index in keys, unique indexes after the consistency point, plain ones after the load', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 't', { replica_identity: 'i' }));
    c.columns.push(column(10, 1, 'seq', 'integer', { not_null: true }));
    c.indexes.push(
      index(20, 10, 't_seq', 'CREATE UNIQUE INDEX t_seq ON app.t USING btree (seq)', { unique: true, replica_identity: true, columns: ['seq'] }),
      index(21, 10, 't_u', 'CREATE UNIQUE INDEX t_u ON app.t USING btree (a)', { unique: true, constraint_oid: 22, constraint_name: 't_u', constraint_type: 'u', constraint_def: 'UNIQUE (a)', deferrable: true, deferred: true }),
      index(23, 10, 't_x', 'CREATE INDEX t_x ON app.t USING gist (r)', { constraint_oid: 24, constraint_name: 't_x', constraint_type: 'x', constraint_def: 'EXCLUDE USING gist (r WITH &&)' }),
      index(25, 10, 't_plain', 'CREATE INDEX t_plain ON app.t USING btree (b)'),
      index(26, 10, 't_bad', 'CREATE INDEX t_bad ON app.t USING btree (b)', { valid: false }),
    );
    const p = plan(c, { concurrentIndexes: true });
    expect(find(p, 'index "app"."t_seq" on "app"."t"')).toMatchObject({
      phase: 'keys',
      sql: ['CREATE UNIQUE INDEX t_seq ON app.t USING btree (seq)', 'ALTER TABLE ONLY "app"."t" REPLICA IDENTITY USING INDEX "t_seq"'],
      transactional: true,
    });
    expect(find(p, 'unique constraint "app"."t_u" on "app"."t"')).toMatchObject({
      readiness: 'consistent',
      sql: ['CREATE UNIQUE INDEX t_u ON app.t USING btree (a)', 'ALTER TABLE ONLY "app"."t" ADD CONSTRAINT "t_u" UNIQUE USING INDEX "t_u" DEFERRABLE INITIALLY DEFERRED'],
    });
    expect(find(p, 'exclusion constraint "app"."t_x" on "app"."t"').sql).toEqual(['ALTER TABLE ONLY "app"."t" ADD CONSTRAINT "t_x" EXCLUDE USING gist (r WITH &&)']);
    expect(find(p, 'index "app"."t_plain" on "app"."t"')).toMatchObject({
      readiness: 'table-loaded',
      transactional: false,
      sql: ['CREATE INDEX CONCURRENTLY t_plain ON app.t USING btree (b)'],
      check: { repair: 'DROP INDEX IF EXISTS "app"."t_plain"' },
    });
    expect(p.warnings).toContainEqual(expect.objectContaining({ code: 'invalid-index', object: 'index "app"."t_bad"' }));
    expect(p.tables[0]).toMatchObject({ replicaIdentity: 'index', primaryKey: null, chunkKey: { column: 'seq', type: 'integer' } });
    // ANALYZE runs once the indexes that can be built after the load exist (unique ones wait longer).
    expect(find(p, 'analyze "app"."t"').deps).toEqual(['table:10', 'index:20', 'index:25']);
  });
});

describe('owners and privileges', () => {
  const item = (grantee: string | null, privilege: string, grantable = false, grantor = 'alice'): AclItem => ({ grantor, grantee, privilege, grantable });

  it('reproduces the ACL in order: revoke the defaults, then one GRANT per run of items', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 't', { acl_default: false, acl: [item('alice', 'SELECT'), item('alice', 'INSERT'), item('bob', 'SELECT'), item('bob', 'UPDATE', true), item('carol', 'SELECT', false, 'bob')] }));
    c.columns.push(column(10, 1, 'secret', 'text', { acl: [item('bob', 'SELECT')] }));
    const p = plan(c);
    expect(find(p, 'owner of table "app"."t"').sql).toEqual(['ALTER TABLE "app"."t" OWNER TO "alice"']);
    expect(find(p, 'privileges on table "app"."t"')).toMatchObject({
      deps: ['table:10', 'owner:table:10'],
      sql: [
        'REVOKE ALL ON TABLE "app"."t" FROM PUBLIC',
        'REVOKE ALL ON TABLE "app"."t" FROM "alice"',
        'GRANT SELECT, INSERT ON TABLE "app"."t" TO "alice"',
        'GRANT SELECT ON TABLE "app"."t" TO "bob"',
        'GRANT UPDATE ON TABLE "app"."t" TO "bob" WITH GRANT OPTION',
        'SET LOCAL ROLE "bob"',
        'GRANT SELECT ON TABLE "app"."t" TO "carol"',
        'RESET ROLE',
        'GRANT SELECT ("secret") ON TABLE "app"."t" TO "bob"',
      ],
    });
  });

  it('leaves out what names a role the target lacks, and says so once per role', () => {
    const c = emptyCatalog();
    c.tables.push(table(10, 't', { owner: 'gone', acl_default: false, acl: [item('gone', 'SELECT', false, 'gone'), item(null, 'SELECT', false, 'gone'), item('bob', 'INSERT', false, 'gone')] }));
    c.tables.push(table(11, 'u', { owner: 'gone' }));
    const p = plan(c, { targetRoles: new Set(['bob']) });
    expect(p.objects.some((o) => o.kind === 'owner')).toBe(false);
    expect(find(p, 'privileges on table "app"."t"').sql).toEqual([
      'REVOKE ALL ON TABLE "app"."t" FROM PUBLIC',
      'GRANT SELECT ON TABLE "app"."t" TO PUBLIC',
      'GRANT INSERT ON TABLE "app"."t" TO "bob"',
    ]);
    const missing = p.warnings.filter((w) => w.code === 'missing-role');
    expect(missing).toHaveLength(1);
    expect(missing[0]?.message).toMatch(/^role "gone" does not exist on the target: .* 2 object\(s\) \(table "app"."t"; table "app"."u"\)$/);
  });

  it('keeps the public schema\'s version defaults, and its changes', () => {
    const c = emptyCatalog();
    const pre15Default = [item('postgres', 'USAGE', false, 'postgres'), item('postgres', 'CREATE', false, 'postgres'), item(null, 'USAGE', false, 'postgres'), item(null, 'CREATE', false, 'postgres')];
    c.schemas.push({ oid: 2200, name: 'public', owner: 'postgres', owner_is_default: true, acl_default: false, acl: pre15Default, init_acl: null });
    c.comments.set('pg_namespace:2200:0', `'standard public schema'`);
    const p = plan(c, { sourceVersionNum: 130000 });
    expect(p.objects.map((o) => o.name)).toEqual(['schema "public"']);
    expect(find(p, 'schema "public"')).toMatchObject({ sql: [`COMMENT ON SCHEMA "public" IS 'standard public schema'`] });
    expect(find(p, 'schema "public"').check).toBeUndefined();

    const hardened = emptyCatalog();
    hardened.schemas.push({ oid: 2200, name: 'public', owner: 'postgres', owner_is_default: true, acl_default: false, acl: pre15Default.slice(0, 3), init_acl: null });
    expect(find(plan(hardened, { sourceVersionNum: 130000 }), 'privileges on schema "public"').sql).toEqual([
      'REVOKE ALL ON SCHEMA "public" FROM PUBLIC',
      'REVOKE ALL ON SCHEMA "public" FROM "postgres"',
      'GRANT USAGE, CREATE ON SCHEMA "public" TO "postgres"',
      'GRANT USAGE ON SCHEMA "public" TO PUBLIC',
    ]);
  });

  it('renders default privileges, replacing a global default', () => {
    const c = emptyCatalog();
    c.defaultAcls.push(
      { oid: 1, role: 'alice', schema: null, objtype: 'f', acl: [item('alice', 'EXECUTE')] },
      { oid: 2, role: 'alice', schema: 'app', objtype: 'r', acl: [item('bob', 'SELECT'), item('bob', 'INSERT')] },
    );
    const p = plan(c);
    expect(find(p, 'default privileges of "alice" on functions').sql).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR ROLE "alice" REVOKE ALL ON FUNCTIONS FROM PUBLIC',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "alice" REVOKE ALL ON FUNCTIONS FROM "alice"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "alice" GRANT EXECUTE ON FUNCTIONS TO "alice"',
    ]);
    expect(find(p, 'default privileges of "alice" on tables in schema "app"')).toMatchObject({
      phase: 'post-data',
      sql: ['ALTER DEFAULT PRIVILEGES FOR ROLE "alice" IN SCHEMA "app" GRANT SELECT, INSERT ON TABLES TO "bob"'],
    });
  });

  it('merges consecutive items only', () => {
    expect(runs([item('a', 'SELECT'), item('a', 'INSERT', true), item('a', 'UPDATE', true), item('b', 'SELECT')]).map((r) => r.privileges)).toEqual([
      ['SELECT'],
      ['INSERT', 'UPDATE'],
      ['SELECT'],
    ]);
  });
});

describe('other families', () => {
  it('renders aggregates with only the options that differ from the defaults', () => {
    const agg: AggregateRow = {
      oid: 1, args: 'integer', agg_kind: 'n', sfunc: 'int4pl', stype: 'integer', sspace: 0, finalfunc: 'app."fin"', final_extra: true,
      final_modify: 'r', combinefunc: 'int4pl', serialfunc: null, deserialfunc: null, initcond: `'0'`, msfunc: 'int4pl', minvfunc: 'int4mi',
      mstype: 'integer', msspace: 0, mfinalfunc: null, mfinal_extra: false, mfinal_modify: 'r', minitcond: `'0'`,
      sortop: ['pg_catalog', '>'], parallel: 's',
    };
    expect(aggregateOptions(agg)).toEqual([
      'SFUNC = int4pl', 'STYPE = integer', 'FINALFUNC = app."fin"', 'FINALFUNC_EXTRA', 'COMBINEFUNC = int4pl', `INITCOND = '0'`,
      'MSFUNC = int4pl', 'MINVFUNC = int4mi', 'MSTYPE = integer', `MINITCOND = '0'`, 'SORTOP = OPERATOR("pg_catalog".>)', 'PARALLEL = SAFE',
    ]);
    expect(aggregateOptions({ ...agg, agg_kind: 'h', final_modify: 's', parallel: 'u', msfunc: null, sortop: null })).toContain('FINALFUNC_MODIFY = SHAREABLE');
  });

  it('renders collations per provider', () => {
    const base = { oid: 1, schema: 'app', name: 'c', deterministic: true, lc_collate: null, lc_ctype: null, locale: null, rules: null, ...noAcl };
    expect(collationOptions({ ...base, provider: 'i', deterministic: false, locale: `'und-u-ks-level2'` })).toEqual(['provider = icu', 'deterministic = false', `locale = 'und-u-ks-level2'`]);
    expect(collationOptions({ ...base, provider: 'c', lc_collate: `'C'`, lc_ctype: `'C'` })).toEqual(['provider = libc', `locale = 'C'`]);
    expect(collationOptions({ ...base, provider: 'c', lc_collate: `'C'`, lc_ctype: `'en_US'` })).toEqual(['provider = libc', `lc_collate = 'C'`, `lc_ctype = 'en_US'`]);
    expect(collationOptions({ ...base, provider: 'b', locale: `'C.UTF-8'` })).toEqual(['provider = builtin', `locale = 'C.UTF-8'`]);
  });

  it('renders policies, PUBLIC for the null role', () => {
    expect(
      policySql({ oid: 1, relid: 2, name: 'Items: insert', command: 'a', permissive: false, roles: [null, 'Bob'], using_expr: null, check_expr: '(qty < 100)' }, '"s"."t"'),
    ).toBe('CREATE POLICY "Items: insert" ON "s"."t" AS RESTRICTIVE FOR INSERT TO PUBLIC, "Bob" WITH CHECK ((qty < 100))');
  });

  it('pins an extension version only where the target offers it', () => {
    const c = emptyCatalog();
    c.extensions.push(
      { oid: 1, name: 'hstore', schema: 'ext', version: '1.8', version_literal: `'1.8'` },
      { oid: 2, name: 'citext', schema: 'public', version: '1.0', version_literal: `'1.0'` },
      { oid: 3, name: 'postgis', schema: 'public', version: '3.4', version_literal: `'3.4'` },
    );
    const p = plan(c, { targetExtensions: new Map([['hstore', ['1.7', '1.8']], ['citext', ['1.6']]]) });
    expect(find(p, 'extension "hstore"').sql[0]).toBe(`CREATE EXTENSION IF NOT EXISTS "hstore" WITH SCHEMA "ext" VERSION '1.8'`);
    expect(find(p, 'extension "citext"').sql[0]).toBe('CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "public"');
    expect(p.warnings.map((w) => w.code).sort()).toEqual(['extension-unavailable', 'extension-version']);
  });

  it('creates materialized views empty and refreshes them in post-data after those they read', () => {
    const c = emptyCatalog();
    const view = { schema: 'app', options: null, populated: true, column_acls: [], columns: ['n'], ...noAcl };
    c.views.push(
      { ...view, oid: 1, name: 'a', relkind: 'm', def: ' SELECT 1 AS n;' },
      { ...view, oid: 2, name: 'v', relkind: 'v', def: ' SELECT a.n FROM app.a;' },
      { ...view, oid: 3, name: 'b', relkind: 'm', def: ' SELECT v.n FROM app.v;' },
    );
    c.viewRules.push({ oid: 12, view: 2 }, { oid: 13, view: 3 });
    c.depends.push({ catalog: 'pg_rewrite', objid: 12, ref_catalog: 'pg_class', refobjid: 1 }, { catalog: 'pg_rewrite', objid: 13, ref_catalog: 'pg_class', refobjid: 2 });
    const p = plan(c);
    expect(find(p, 'materialized view "app"."a"').sql[0]).toBe('CREATE MATERIALIZED VIEW "app"."a" AS\nSELECT 1 AS n\nWITH NO DATA');
    expect(find(p, 'refresh materialized view "app"."b"')).toMatchObject({ phase: 'post-data', deps: expect.arrayContaining(['refresh:1']) });
    expect(find(p, 'view "app"."v"').deps).toEqual(['view:1']);
  });

  it('reports built-in collations in use that the target lacks', () => {
    const c = emptyCatalog();
    c.collationsInUse.push({ name: 'de_DE', uses: 3 }, { name: 'en-x-icu', uses: 1 });
    const warnings = plan(c, { targetCollations: new Set(['en-x-icu']) }).warnings;
    expect(warnings).toEqual([expect.objectContaining({ code: 'missing-collation', message: expect.stringContaining('"de_DE" (used 3 time(s))') })]);
    expect(plan(c).warnings).toEqual([]);
  });

  it('reports objects it does not migrate', () => {
    const c = emptyCatalog();
    c.unsupported.push({ kind: 'operator', count: 2 }, { kind: 'foreign table', count: 1 });
    expect(plan(c).warnings.map((w) => w.message)).toEqual(['2 user-defined operators not migrated', '1 user-defined foreign table not migrated']);
  });
});

describe('triggers, rules and foreign keys held for a migration', () => {
  function catalog(): Catalog {
    const c = emptyCatalog();
    c.tables.push(table(10, 't'));
    c.columns.push(column(10, 1, 'id', 'integer', { not_null: true }));
    c.triggers.push(
      { oid: 40, relid: 10, name: 'always', def: 'CREATE TRIGGER always AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f()', enabled: 'A' },
      { oid: 41, relid: 10, name: 'plain', def: 'CREATE TRIGGER plain AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f()', enabled: 'O' },
    );
    c.rules.push({ oid: 50, relid: 10, name: 'r', def: 'CREATE RULE r AS ON INSERT TO app.t DO ALSO NOTIFY t;', enabled: 'R', relkind: 'r' });
    c.foreignKeys.push({ oid: 30, relid: 10, name: 't_fk', def: 'FOREIGN KEY (id) REFERENCES app.t(id) ON DELETE CASCADE', ref_relid: 10 });
    return c;
  }

  it('by default keeps each trigger and rule in its source state and builds FKs once replay is consistent', () => {
    const p = plan(catalog());
    expect(find(p, 'trigger "always" on "app"."t"').sql).toContain('ALTER TABLE "app"."t" ENABLE ALWAYS TRIGGER "always"');
    expect(find(p, 'trigger "plain" on "app"."t"').sql).toHaveLength(1);
    expect(find(p, 'rule "r" on "app"."t"').sql).toContain('ALTER TABLE "app"."t" ENABLE REPLICA RULE "r"');
    expect(find(p, 'foreign key "t_fk" on "app"."t"').readiness).toBe('consistent');
  });

  it('holdTriggers creates every trigger and rule of a table disabled (replay must fire none, ALWAYS ones included)', () => {
    const p = plan(catalog(), { holdTriggers: true });
    expect(find(p, 'trigger "always" on "app"."t"').sql).toContain('ALTER TABLE "app"."t" DISABLE TRIGGER "always"');
    expect(find(p, 'trigger "plain" on "app"."t"').sql).toContain('ALTER TABLE "app"."t" DISABLE TRIGGER "plain"');
    expect(find(p, 'rule "r" on "app"."t"').sql).toContain('ALTER TABLE "app"."t" DISABLE RULE "r"');
    expect(p.objects.flatMap((o) => o.sql).join('\n')).not.toMatch(/ENABLE/);
  });

  it('holdForeignKeys leaves FKs to completion, out of the table\'s consistency work', () => {
    const p = plan(catalog(), { holdForeignKeys: true });
    const fk = find(p, 'foreign key "t_fk" on "app"."t"');
    expect(fk.readiness).toBe('drained');
    expect(p.tables[0]?.afterConsistency).not.toContain(fk.id);
  });
});
