/**
 * The "Connect to source" and "Connect to target" tabs: the server's address and login, and a
 * Test connection button whose answer is the service's classified result (kind, message, fix).
 */
import { api, ApiError } from './api.js';
import { announce, h, fill } from './dom.js';
import { field, inputValue, select, setFieldError } from './form.js';
import { SSL_MODES } from './format.js';
import { inWords } from './labels.js';

/** The connection the user typed on one side ('src' or 'tgt'). */
export function connectionOf(side) {
  return {
    host: inputValue(`wiz-${side}-host`).trim(),
    port: Number(inputValue(`wiz-${side}-port`) || '5432'),
    user: inputValue(`wiz-${side}-user`).trim(),
    password: inputValue(`wiz-${side}-password`),
    sslMode: inputValue(`wiz-${side}-ssl`),
  };
}

/** Identifies what a test result was for, so an edit after the test makes it stale. */
export function connectionKey(conn) {
  return JSON.stringify([conn.host, conn.port, conn.user, conn.password, conn.sslMode]);
}

/** Problems a user can fix before asking the service, as [fieldId, message]. */
export function connectionProblems(side) {
  const c = connectionOf(side);
  const out = [];
  if (!c.host) out.push([`wiz-${side}-host`, 'Enter the server name (host name or IP address).']);
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) out.push([`wiz-${side}-port`, 'Enter a port between 1 and 65535 (PostgreSQL’s default is 5432).']);
  if (!c.user) out.push([`wiz-${side}-user`, 'Enter the login name.']);
  if (!c.password) out.push([`wiz-${side}-password`, 'Enter the password.']);
  return out;
}

/**
 * The wizard goes on only after a Test connection of what is typed now succeeded (as the Azure
 * portal's wizard): [fieldId, message] when it did not, else undefined.
 * @param {'src'|'tgt'} side
 * @param {Map<string, {key: string, ok: boolean}>} tested
 */
export function testProblem(side, tested) {
  const t = tested.get(side);
  const id = `wiz-${side}-test`;
  if (!t || t.key !== connectionKey(connectionOf(side))) return [id, 'Select Test connection: the connection must succeed before you go on.'];
  if (!t.ok) return [id, 'The last Test connection failed: fix what its result says, then test again.'];
  return undefined;
}

/**
 * @param {'src'|'tgt'} side
 * @param {{ server: () => string, onSslChange: (mode: string) => void, tested: Map<string, {key: string, ok: boolean}> }} ctx
 */
export function connectPanel(side, ctx) {
  const isSource = side === 'src';
  const result = h('div', { id: `wiz-${side}-result`, class: 'test-result', role: 'status', 'aria-live': 'polite' });
  const ssl = select(`wiz-${side}-ssl`, SSL_MODES.map((m) => [m, m]), 'Prefer');
  ssl.addEventListener('change', () => ctx.onSslChange(ssl.value));
  const button = h('button', { type: 'button', id: `wiz-${side}-test`, class: 'secondary', 'aria-describedby': `wiz-${side}-test-error`, onclick: () => void runTest() }, 'Test connection');
  const testError = h('p', { id: `wiz-${side}-test-error`, class: 'field-error', hidden: true });

  let busy = false;
  async function runTest() {
    if (busy) return;
    for (const id of ['host', 'port', 'user', 'password']) setFieldError(`wiz-${side}-${id}`, '');
    const problems = connectionProblems(side);
    if (problems.length > 0) {
      for (const [id, msg] of problems) setFieldError(id, msg);
      fill(result, h('p', { class: 'result bad' }, 'Fill in the highlighted fields, then test again.'));
      return;
    }
    const conn = connectionOf(side);
    busy = true;
    button.setAttribute('aria-busy', 'true');
    fill(result, h('p', { class: 'result busy' }, `Connecting to ${conn.host}:${conn.port}…`));
    try {
      const r = await api.testConnection(conn);
      ctx.tested.set(side, { key: connectionKey(conn), ok: Boolean(r.ok) });
      fill(result, renderResult(r));
      if (r.ok) setFieldError(`wiz-${side}-test`, '');
      announce(r.ok ? `Connection to the ${isSource ? 'source' : 'target'} succeeded.` : `Connection to the ${isSource ? 'source' : 'target'} failed: ${r.kind}.`, r.ok ? 'ok' : 'bad');
    } catch (e) {
      ctx.tested.delete(side);
      fill(result, renderApiError(e));
    } finally {
      busy = false;
      button.removeAttribute('aria-busy');
    }
  }

  const intro = isSource
    ? 'The PostgreSQL server that holds the databases to migrate.'
    : h('span', {}, 'The Azure Database for PostgreSQL flexible server ', h('strong', { id: 'wiz-tgt-server-name' }, ctx.server()), ' that receives the databases.');

  return h(
    'div',
    { class: 'panel-body' },
    h('p', { class: 'lead' }, intro),
    h(
      'div',
      { class: 'grid-2' },
      field({
        id: `wiz-${side}-host`,
        label: isSource ? 'Server name' : 'Fully qualified domain name or IP',
        hint: isSource ? 'Host name or IP address of the source server.' : 'e.g. myserver.postgres.database.azure.com — where pgferry connects to the target.',
        attrs: { autocomplete: 'off', spellcheck: 'false' },
      }),
      field({ id: `wiz-${side}-port`, label: 'Port', type: 'number', value: '5432', attrs: { min: '1', max: '65535', inputmode: 'numeric' } }),
      field({
        id: `wiz-${side}-user`,
        label: isSource ? 'Server admin login name' : 'Admin username',
        hint: isSource ? 'A login with REPLICATION (or superuser) and read access to the databases.' : 'The target’s admin, or a member of azure_pg_admin.',
        attrs: { autocomplete: 'off', spellcheck: 'false' },
      }),
      field({ id: `wiz-${side}-password`, label: 'Password', type: 'password', attrs: { autocomplete: 'off' } }),
      field({
        id: `wiz-${side}-ssl`,
        label: 'SSL mode',
        input: ssl,
        hint: 'One SSL mode for both servers. Prefer when SSL is off on the server; Require when it is on.',
      }),
    ),
    h('div', { class: 'actions' }, button),
    testError,
    result,
  );
}

function renderResult(r) {
  if (r.ok) {
    return h(
      'div',
      { class: 'result ok' },
      h('p', {}, h('strong', {}, 'Connection successful. '), `PostgreSQL ${r.serverVersion}, ${r.ssl ? 'SSL on' : 'SSL off'}, user ${r.currentUser}, ${r.durationMs} ms.`),
      r.isSuperuser || r.canReplicate
        ? null
        : h('p', { class: 'hint' }, 'This login cannot start logical replication: grant it REPLICATION before an Online migration.'),
    );
  }
  return h(
    'div',
    { class: 'result bad' },
    h('p', {}, h('strong', { class: 'kind' }, r.kind), ' — ', h('span', { class: 'message' }, r.message)),
    h('p', { class: 'fix' }, h('strong', {}, 'Fix: '), r.fix),
  );
}

export function renderApiError(e) {
  if (!(e instanceof ApiError)) return h('div', { class: 'result bad' }, h('p', {}, String(e)));
  return h(
    'div',
    { class: 'result bad' },
    h('p', {}, h('strong', {}, e.code), ' — ', inWords(e.message)),
    e.details.length > 0 ? h('ul', {}, e.details.map((d) => h('li', {}, inWords(d.message), d.fix ? h('span', { class: 'fix' }, ` ${inWords(d.fix)}`) : null))) : null,
  );
}
