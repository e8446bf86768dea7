/* global document, setTimeout, clearTimeout, HTMLSelectElement, HTMLInputElement */
/**
 * The create wizard, tab for tab as the portal's (seed tutorial): Setup → Connect to source →
 * Connect to target → Select databases → Summary → Start. Start sends the same PUT body as the az
 * CLI file; a 400 puts each of its field errors next to the field it names.
 */
import { api, ApiError } from './api.js';
import { announce, clearStatus, fill, h } from './dom.js';
import { clearFieldErrors, field, focusField, inputValue, radioGroup, radioValue, select, setFieldError } from './form.js';
import { MIGRATION_MODES, MIGRATION_OPTIONS, SOURCE_TYPES, hostPort, labelOf } from './format.js';
import { inWords } from './labels.js';
import { createTabs } from './tabs.js';
import { connectPanel, connectionKey, connectionOf, connectionProblems, renderApiError, testProblem } from './wizard-connect.js';
import { databasesPanel } from './wizard-databases.js';

/** Owner of the "fields need attention" status message. */
const PROBLEMS = 'wizard-problems';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const SERVER_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const STEPS = [
  ['setup', 'Setup'],
  ['source', 'Connect to source'],
  ['target', 'Connect to target'],
  ['databases', 'Select databases for migration'],
  ['summary', 'Summary'],
];

/**
 * Where the service's 400 field paths land in the form, longest prefix first, with the tab that
 * shows the field.
 */
const FIELD_MAP = [
  ['properties.secretParameters.adminCredentials.sourceServerPassword', 'wiz-src-password', 'source'],
  ['properties.secretParameters.adminCredentials.targetServerPassword', 'wiz-tgt-password', 'target'],
  ['properties.secretParameters.sourceServerUsername', 'wiz-src-user', 'source'],
  ['properties.secretParameters.targetServerUsername', 'wiz-tgt-user', 'target'],
  ['properties.sourceDbServerResourceId', 'wiz-src-host', 'source'],
  ['properties.sourceDbServerFullyQualifiedDomainName', 'wiz-src-host', 'source'],
  ['properties.targetDbServerFullyQualifiedDomainName', 'wiz-tgt-host', 'target'],
  ['properties.sslMode', 'wiz-src-ssl', 'source'],
  ['properties.dbsToMigrate', 'wiz-dbs', 'databases'],
  ['properties.overwriteDbsInTarget', 'wiz-overwrite', 'databases'],
  ['properties.migrationMode', 'wiz-mode', 'setup'],
  ['properties.fallbackAfterCutover', 'wiz-fallback', 'setup'],
  ['properties.migrationOption', 'wiz-option', 'setup'],
  ['properties.sourceType', 'wiz-source-type', 'setup'],
  ['serverName', 'wiz-server', 'setup'],
  ['name', 'wiz-name', 'setup'],
];

export function fieldFor(path) {
  return FIELD_MAP.find(([prefix]) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`));
}

/**
 * @param {HTMLElement} root
 * @param {{ server: string, onCreated: (server: string, name: string) => void, onCancel: () => void }} ctx
 */
export function renderWizard(root, ctx) {
  /** Last Test connection per side: for which input, and whether it passed. */
  const tested = new Map();
  const dbs = databasesPanel();
  const nameStatus = h('p', { id: 'wiz-name-check', class: 'name-check', 'aria-live': 'polite' });
  let nameCheck = { name: '', server: '', available: undefined };
  let nameTimer;
  let nameSeq = 0;

  const server = () => inputValue('wiz-server').trim();

  const setup = h(
    'div',
    { class: 'panel-body' },
    h('p', { class: 'lead' }, 'Name the migration and choose what it does.'),
    h(
      'div',
      { class: 'grid-2' },
      h(
        'div',
        {},
        field({
          id: 'wiz-name',
          label: 'Migration name',
          hint: 'Letters, digits and hyphens; not starting with a hyphen; unique on the target server.',
          attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: '63', required: true, oninput: () => scheduleNameCheck() },
        }),
        nameStatus,
      ),
      field({
        id: 'wiz-server',
        label: 'Target server name',
        value: ctx.server,
        hint: 'The flexible server that receives the databases; migrations are listed per target server.',
        attrs: { autocomplete: 'off', spellcheck: 'false', required: true, oninput: () => onServerInput() },
      }),
      field({ id: 'wiz-source-type', label: 'Source server type', input: select('wiz-source-type', SOURCE_TYPES, 'OnPremises') }),
    ),
    radioGroup('wiz-option', 'Migration option', MIGRATION_OPTIONS, 'ValidateAndMigrate'),
    radioGroup('wiz-mode', 'Migration mode', MIGRATION_MODES, 'Online'),
    h(
      'div',
      { class: 'check' },
      h('input', { type: 'checkbox', id: 'wiz-fallback', 'aria-describedby': 'wiz-fallback-hint wiz-fallback-error' }),
      h('label', { for: 'wiz-fallback' }, 'Keep a way back after cutover (Online)'),
      h('p', { id: 'wiz-fallback-hint', class: 'hint' }, 'After cutover the target’s writes flow back to the source until you finalize (keep the target) or fall back (the source is current again). Needs logical decoding on the target (wal_level = logical) and a source login that can write every table; validation checks both.'),
      h('p', { id: 'wiz-fallback-error', class: 'field-error', hidden: true }),
    ),
  );

  const syncSsl = (mode) => {
    for (const id of ['wiz-src-ssl', 'wiz-tgt-ssl']) {
      const el = document.getElementById(id);
      if (el instanceof HTMLSelectElement) el.value = mode;
    }
  };
  const source = connectPanel('src', { server, onSslChange: syncSsl, tested });
  const target = connectPanel('tgt', { server, onSslChange: syncSsl, tested });
  const summary = h('div', { class: 'panel-body', id: 'wiz-summary' });

  const tabs = createTabs({
    idPrefix: 'wiz',
    label: 'Create migration steps',
    items: [
      { key: 'setup', title: 'Setup', panel: setup },
      { key: 'source', title: 'Connect to source', panel: source },
      { key: 'target', title: 'Connect to target', panel: target },
      { key: 'databases', title: 'Select databases', panel: dbs.element },
      { key: 'summary', title: 'Summary', panel: summary },
    ],
    onSelect: (key) => onStep(key),
  });

  const prev = h('button', { type: 'button', id: 'wiz-prev', class: 'secondary', onclick: () => move(-1) }, 'Previous');
  const next = h('button', { type: 'button', id: 'wiz-next', class: 'primary', onclick: () => move(1) }, 'Next');
  const start = h('button', { type: 'button', id: 'wiz-start', class: 'primary', onclick: () => void startMigration() }, 'Start');
  const cancel = h('button', { type: 'button', id: 'wiz-cancel', class: 'link', onclick: () => ctx.onCancel() }, 'Cancel');

  fill(
    root,
    h('h2', { id: 'view-title', tabindex: '-1' }, 'Create migration'),
    h('p', { class: 'lead' }, 'Migrate PostgreSQL databases into an Azure Database for PostgreSQL flexible server.'),
    tabs.element,
    h('div', { class: 'wizard-nav' }, prev, next, start, cancel),
  );
  onStep('setup');

  function stepIndex() {
    return STEPS.findIndex(([k]) => k === tabs.current());
  }

  function onStep(key) {
    const i = STEPS.findIndex(([k]) => k === key);
    prev.disabled = i <= 0;
    const following = STEPS[i + 1];
    next.hidden = following === undefined;
    if (following) next.textContent = `Next : ${following[1]}`;
    start.hidden = key !== 'summary';
    if (key === 'databases') void dbs.load(false);
    if (key === 'summary') renderSummary();
    if (key === 'target') {
      const name = document.getElementById('wiz-tgt-server-name');
      if (name) name.textContent = server() || '(not set)';
    }
  }

  function move(delta) {
    const i = stepIndex();
    if (delta > 0) {
      const problems = problemsOf(STEPS[i][0]);
      if (problems.length > 0) {
        showProblems(problems);
        return;
      }
    }
    // "n fields need attention" no longer applies once the step is done.
    clearStatus(PROBLEMS);
    const to = STEPS[i + delta];
    if (to) tabs.select(to[0], true);
  }

  function onServerInput() {
    setFieldError('wiz-server', '');
    scheduleNameCheck();
  }

  function scheduleNameCheck() {
    clearTimeout(nameTimer);
    setFieldError('wiz-name', '');
    nameCheck = { name: '', server: '', available: undefined };
    fill(nameStatus);
    nameTimer = setTimeout(() => void checkName(), 350);
  }

  async function checkName() {
    const name = inputValue('wiz-name');
    const srv = server();
    if (name === '') return;
    if (!SERVER_PATTERN.test(srv)) {
      fill(nameStatus, h('span', { class: 'bad' }, 'Enter a valid target server name to check the name.'));
      return;
    }
    const mine = ++nameSeq;
    fill(nameStatus, h('span', { class: 'busy' }, `Checking ${name}…`));
    try {
      const r = await api.checkName(srv, name);
      if (mine !== nameSeq) return;
      nameCheck = { name, server: srv, available: Boolean(r.nameAvailable) };
      fill(
        nameStatus,
        r.nameAvailable
          ? h('span', { class: 'ok' }, `✓ ${r.name} is available on ${srv}.`)
          : h('span', { class: 'bad' }, `✗ ${r.reason === 'AlreadyExists' ? 'Already exists' : 'Not valid'}: ${r.message ?? ''}`),
      );
    } catch (e) {
      if (mine !== nameSeq) return;
      fill(nameStatus, h('span', { class: 'bad' }, e instanceof ApiError ? e.message : String(e)));
    }
  }

  /** What must be fixed on a step before moving on, as [fieldId, message]. */
  function problemsOf(step) {
    const out = [];
    if (step === 'setup') {
      const name = inputValue('wiz-name');
      if (name === '') out.push(['wiz-name', 'Enter a migration name.']);
      else if (!NAME_PATTERN.test(name)) out.push(['wiz-name', 'Use letters, digits and hyphens only, starting with a letter or digit (at most 63).']);
      else if (nameCheck.name === name && nameCheck.server === server() && nameCheck.available === false) out.push(['wiz-name', 'This name cannot be used on this server; choose another.']);
      if (!SERVER_PATTERN.test(server())) out.push(['wiz-server', 'Use 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.']);
    } else if (step === 'source' || step === 'target') {
      const side = step === 'source' ? 'src' : 'tgt';
      const fields = connectionProblems(side);
      out.push(...fields);
      const untested = fields.length === 0 ? testProblem(side, tested) : undefined;
      if (untested) out.push(untested);
    } else if (step === 'databases') {
      if (dbs.selected().length === 0) out.push(['wiz-dbs', 'Select at least one database.']);
    }
    return out;
  }

  function showProblems(problems) {
    for (const [id, message] of problems) setFieldError(id, message);
    focusField(problems[0][0]);
    announce(`${problems.length} field${problems.length === 1 ? ' needs' : 's need'} attention: ${problems[0][1]}`, 'bad', { owner: PROBLEMS });
  }

  function testState(side) {
    const t = tested.get(side);
    if (!t) return ['Not tested', 'warn'];
    if (t.key !== connectionKey(connectionOf(side))) return ['Not tested since the last change', 'warn'];
    return t.ok ? ['Connection successful', 'ok'] : ['Test failed', 'bad'];
  }

  function renderSummary() {
    const src = connectionOf('src');
    const tgt = connectionOf('tgt');
    const selected = dbs.selected();
    const row = (label, value, tone) => [h('dt', {}, label), h('dd', tone ? { class: tone } : {}, value || '—')];
    const [srcTest, srcTone] = testState('src');
    const [tgtTest, tgtTone] = testState('tgt');
    const option = radioValue('wiz-option');
    fill(
      summary,
      h('div', { id: 'wiz-errors', class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true }),
      h('p', { class: 'lead' }, 'Review the details, then select Start.'),
      h(
        'div',
        { class: 'summary-grid' },
        h('section', { 'aria-labelledby': 'sum-setup' }, h('h3', { id: 'sum-setup' }, 'Setup'), h('dl', {},
          row('Migration name', inputValue('wiz-name')),
          row('Target server', server()),
          row('Source server type', labelOf(SOURCE_TYPES, inputValue('wiz-source-type'))),
          row('Migration option', labelOf(MIGRATION_OPTIONS, option)),
          row('Migration mode', radioValue('wiz-mode')),
          row('Way back after cutover', fallbackWanted() ? 'Yes: the target replicates to the source until you finalize or fall back' : 'No'))),
        h('section', { 'aria-labelledby': 'sum-source' }, h('h3', { id: 'sum-source' }, 'Source'), h('dl', {},
          row('Server', src.host ? hostPort(src.host, src.port) : ''),
          row('Login', src.user),
          row('SSL mode', src.sslMode),
          row('Test connection', srcTest, srcTone))),
        h('section', { 'aria-labelledby': 'sum-target' }, h('h3', { id: 'sum-target' }, 'Target'), h('dl', {},
          row('Server', tgt.host ? hostPort(tgt.host, tgt.port) : ''),
          row('Login', tgt.user),
          row('SSL mode', tgt.sslMode),
          row('Test connection', tgtTest, tgtTone))),
        h('section', { 'aria-labelledby': 'sum-dbs' }, h('h3', { id: 'sum-dbs' }, `Databases (${selected.length})`),
          selected.length ? h('ul', { class: 'plain' }, selected.map((d) => h('li', {}, d))) : h('p', { class: 'warn' }, 'None selected'),
          dbs.overwrite()
            ? h('p', { class: 'warn-text', id: 'wiz-overwrite-summary' }, h('strong', {}, 'Overwrite: '), 'selected databases that exist on the target are dropped, with their data, and created again.')
            : h('p', { class: 'hint' }, 'Existing, non-empty target databases fail validation.')),
      ),
      option === 'Validate' ? h('p', { class: 'hint' }, 'Validate only checks readiness; no data is copied.') : null,
    );
  }

  /** The way back is asked for (an Online migration only: the service refuses it for Offline). */
  function fallbackWanted() {
    const box = document.getElementById('wiz-fallback');
    return box instanceof HTMLInputElement && box.checked && radioValue('wiz-mode') === 'Online';
  }

  /** The PUT body, in the shape of the az CLI properties file. */
  function buildBody() {
    const src = connectionOf('src');
    const tgt = connectionOf('tgt');
    return {
      properties: {
        sourceDbServerResourceId: `${hostPort(src.host, src.port)}@${src.user}`,
        targetDbServerFullyQualifiedDomainName: hostPort(tgt.host, tgt.port),
        secretParameters: {
          adminCredentials: { sourceServerPassword: src.password, targetServerPassword: tgt.password },
          sourceServerUsername: src.user,
          targetServerUsername: tgt.user,
        },
        dbsToMigrate: dbs.selected(),
        overwriteDbsInTarget: dbs.overwrite() ? 'True' : 'False',
        migrationMode: radioValue('wiz-mode'),
        migrationOption: radioValue('wiz-option'),
        ...(fallbackWanted() ? { fallbackAfterCutover: 'True' } : {}),
        sourceType: inputValue('wiz-source-type'),
        sslMode: src.sslMode,
      },
    };
  }

  async function startMigration() {
    clearFieldErrors(root);
    for (const [step] of STEPS) {
      const problems = problemsOf(step);
      if (problems.length > 0) {
        tabs.select(step, false);
        showProblems(problems);
        return;
      }
    }
    const srv = server();
    const name = inputValue('wiz-name');
    start.disabled = true;
    announce(`Creating migration ${name}…`, 'busy');
    try {
      await api.createMigration(srv, name, buildBody());
      // Passwords leave the page as soon as the service holds them.
      for (const id of ['wiz-src-password', 'wiz-tgt-password']) {
        const el = document.getElementById(id);
        if (el instanceof HTMLInputElement) el.value = '';
      }
      announce(`Migration ${name} was created on ${srv}.`, 'ok', { carry: true });
      ctx.onCreated(srv, name);
    } catch (e) {
      start.disabled = false;
      showStartError(e);
    }
  }

  function showStartError(e) {
    const box = document.getElementById('wiz-errors');
    if (!box) return;
    const items = [];
    if (e instanceof ApiError && e.details.length > 0) {
      for (const d of e.details) {
        const hit = fieldFor(d.field);
        if (hit) setFieldError(hit[1], d.message, d.fix);
        items.push(errorItem(d.message, d.fix, hit));
      }
    } else if (e instanceof ApiError && e.status === 409) {
      setFieldError('wiz-name', e.message);
      items.push(errorItem(e.message, '', FIELD_MAP.find(([p]) => p === 'name')));
    } else {
      items.push(h('li', {}, renderApiError(e)));
    }
    fill(box, h('h3', {}, 'The migration was not created'), h('ul', {}, items));
    box.hidden = false;
    box.focus();
    announce('The migration was not created: see the errors listed.', 'bad');
  }

  function errorItem(message, fix, hit) {
    return h(
      'li',
      { class: 'error-item', dataset: hit ? { field: hit[1] } : {} },
      h('span', { class: 'message' }, inWords(message)),
      fix ? h('span', { class: 'fix' }, ` ${inWords(fix)}`) : null,
      hit
        ? [' ', h('button', { type: 'button', class: 'link', onclick: () => { tabs.select(hit[2], false); focusField(hit[1]); } }, `Go to ${labelOfStep(hit[2])}`)]
        : null,
    );
  }
}

function labelOfStep(key) {
  return STEPS.find(([k]) => k === key)?.[1] ?? key;
}
