/**
 * The two tabs of a migration's details: Validation (each check, its state, and messages with
 * code and fix) and Migration (per database progress, latency in minutes as the portal shows it).
 */
import { h } from './dom.js';
import { inWords } from './labels.js';
import { formatBytes, formatCount, formatDateTime, formatDuration, latencyMinutes, toneOf } from './format.js';

function badge(state) {
  return h('span', { class: `badge ${toneOf(state)}`, dataset: { state } }, state);
}

function checksTable(id, caption, items) {
  return h(
    'table',
    { class: 'grid checks', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Check'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Messages'))),
    h(
      'tbody',
      {},
      items.length === 0
        ? h('tr', {}, h('td', { colspan: '3', class: 'empty' }, 'No checks reported yet.'))
        : items.map((item) =>
            h(
              'tr',
              { dataset: { check: item.type } },
              h('th', { scope: 'row' }, item.type),
              h('td', {}, badge(item.state)),
              h(
                'td',
                {},
                item.messages.length === 0
                  ? h('span', { class: 'hint' }, 'No issues.')
                  : h(
                      'ul',
                      { class: 'messages' },
                      item.messages.map((msg) =>
                        h(
                          'li',
                          { class: `msg ${toneOf(msg.state)}` },
                          h('span', { class: 'msg-state' }, `${msg.state}${msg.code ? ` ${msg.code}` : ''}: `),
                          h('span', { class: 'message' }, inWords(msg.message)),
                          msg.fix ? h('span', { class: 'fix' }, h('strong', {}, ' Fix: '), inWords(msg.fix)) : null,
                        ),
                      ),
                    ),
              ),
            ),
          ),
    ),
  );
}

export function validationView(props, v) {
  if (!v) {
    return h(
      'p',
      { class: 'empty' },
      props.migrationOption === 'Migrate'
        ? 'Validation was skipped: the migration option is Migrate.'
        : 'Validation has not reported yet; it runs after PerformingPreRequisiteSteps.',
    );
  }
  return h(
    'div',
    { class: 'validation' },
    h(
      'p',
      { class: 'status-line' },
      h('span', { class: 'label' }, 'Validation '),
      badge(v.status),
      h('span', { class: 'hint', id: 'det-validation-times' }, [
        v.validationStartTimeInUtc ? `started ${formatDateTime(v.validationStartTimeInUtc)}` : '',
        v.validationEndTimeInUtc ? `ended ${formatDateTime(v.validationEndTimeInUtc)}` : '',
        v.validationStartTimeInUtc && v.validationEndTimeInUtc ? `took ${formatDuration(v.validationStartTimeInUtc, v.validationEndTimeInUtc)}` : '',
      ].filter(Boolean).join(', ')),
    ),
    checksTable('det-server-checks', 'Server checks', v.serverLevelValidationDetails),
    v.dbLevelValidationDetails.map((d) => checksTable(`det-db-checks-${d.databaseName}`, `Database ${d.databaseName}`, d.summary)),
  );
}

const COLUMNS = [
  ['Queued', (d) => formatCount(d.fullLoadQueuedTables)],
  ['Loading', (d) => formatCount(d.fullLoadLoadingTables)],
  ['Completed', (d) => formatCount(d.fullLoadCompletedTables)],
  ['Errored', (d) => formatCount(d.fullLoadErroredTables)],
];
const CDC = [
  ['Inserts', (d) => formatCount(d.cdcInsertCounter)],
  ['Updates', (d) => formatCount(d.cdcUpdateCounter)],
  ['Deletes', (d) => formatCount(d.cdcDeleteCounter)],
];

/** Columns of the per-database table (for rows that span it). */
const COLUMN_COUNT = 15;

/** A labelled bar: the text says the figure, the bar only repeats it. */
function progressBar(percent, label, text) {
  return h(
    'span',
    { class: 'bar' },
    h('progress', { max: '100', value: String(percent), 'aria-label': label }),
    h('span', { class: 'bar-text' }, text),
  );
}

/** "42.5% · ~3m 10s left" while the full load runs; "—" before it is planned. */
function databaseProgress(d) {
  if (d.fullLoadPercent === undefined) return '—';
  const eta = d.fullLoadSecondsRemaining !== undefined && d.fullLoadPercent < 100 ? ` · ~${formatDuration(0, d.fullLoadSecondsRemaining * 1000)} left` : '';
  const size = d.fullLoadEstimatedBytes ? ` of ~${formatBytes(d.fullLoadEstimatedBytes)}` : '';
  return progressBar(d.fullLoadPercent, `Full load of ${d.databaseName}`, `${d.fullLoadPercent.toFixed(1)}%${size}${eta}`);
}

/** One row with a bar per table being copied now. */
function runningTables(d) {
  const list = d.fullLoadRunningTables ?? [];
  if (list.length === 0) return null;
  return h(
    'tr',
    { class: 'running-tables', dataset: { dbTables: d.databaseName } },
    h(
      'td',
      { colspan: String(COLUMN_COUNT) },
      h('span', { class: 'label' }, 'Copying now: '),
      h(
        'ul',
        { class: 'plain tables' },
        list.map((t) => {
          const name = `${t.schemaName}.${t.tableName}`;
          return h(
            'li',
            { dataset: { table: name } },
            h('span', { class: 'table-name' }, name),
            progressBar(t.percent, `Copy of ${name}`, `${t.percent.toFixed(1)}% · ${formatCount(t.rowsCopied)} of ~${formatCount(t.estimatedRows)} rows · ${formatBytes(t.bytesCopied)}`),
          );
        }),
      ),
    ),
  );
}

export function migrationTable(props, dbDetails) {
  const list = props.dbsToMigrate.map((name) => dbDetails[name]).filter(Boolean);
  if (list.length === 0) return h('p', { class: 'empty' }, 'No database has started yet.');
  const th = (text, attrs = {}) => h('th', { scope: 'col', ...attrs }, text);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid progress', id: 'det-dbs' },
      h('caption', { class: 'sr-only' }, 'Progress per database'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          th('Database', { rowspan: '2' }),
          th('State', { rowspan: '2' }),
          th('Operation', { rowspan: '2' }),
          th('Full load tables', { colspan: '4', scope: 'colgroup', class: 'group' }),
          th('Rows copied', { rowspan: '2', class: 'num' }),
          th('Full load progress', { rowspan: '2' }),
          th('Changes applied', { colspan: '3', scope: 'colgroup', class: 'group' }),
          th('Latency (minutes)', { rowspan: '2', class: 'num' }),
          th('Retained WAL', { rowspan: '2', class: 'num' }),
          th('Decoding plugin', { rowspan: '2' }),
        ),
        h('tr', {}, [...COLUMNS, ...CDC].map(([label]) => th(label, { class: 'num' }))),
      ),
      h(
        'tbody',
        {},
        list.map((d) => [
          h(
            'tr',
            { dataset: { db: d.databaseName } },
            h('th', { scope: 'row' }, d.databaseName),
            h('td', {}, badge(d.migrationState)),
            h('td', { class: 'op' }, d.migrationOperation ?? ''),
            COLUMNS.map(([label, get]) => h('td', { class: 'num', dataset: { col: label.toLowerCase() } }, get(d))),
            h('td', { class: 'num', dataset: { col: 'rows' } }, formatCount(d.fullLoadRowsCopied)),
            h('td', { class: 'progress-cell', dataset: { col: 'progress' } }, databaseProgress(d)),
            CDC.map(([label, get]) => h('td', { class: 'num', dataset: { col: label.toLowerCase() } }, get(d))),
            h('td', { class: 'num', dataset: { col: 'latency' } }, latencyMinutes(d.latency)),
            h('td', { class: 'num', dataset: { col: 'wal' } }, formatBytes(d.retainedWalBytes)),
            h('td', {}, d.decodingPlugin ?? ''),
          ),
          runningTables(d),
          d.message ? h('tr', { class: 'db-message' }, h('td', { colspan: String(COLUMN_COUNT) }, h('strong', {}, `${d.databaseName}: `), inWords(d.message))) : null,
        ]),
      ),
    ),
  );
}
