/**
 * The service's messages name API fields (overwriteDbsInTarget,
 * properties.targetDbServerFullyQualifiedDomainName …); on the page the user only knows the
 * form's labels. inWords() puts the label where a message names a field.
 */

const OVERWRITE = '“Overwrite databases that already exist on the target”';

/** Phrases first (they read better than a bare label), then field names, longest first. */
const PHRASES = [
  [/PATCH overwriteDbsInTarget to True/g, 'use Overwrite target databases'],
  [/set overwriteDbsInTarget to True/g, `select ${OVERWRITE}`],
  [/set overwriteDbsInTarget to False/g, `clear ${OVERWRITE}`],
  [/overwriteDbsInTarget is True/g, `${OVERWRITE} is selected`],
  [/overwriteDbsInTarget is False/g, `${OVERWRITE} is not selected`],
];

const FIELDS = [
  ['secretParameters.adminCredentials.sourceServerPassword', '“Connect to source › Password”'],
  ['secretParameters.adminCredentials.targetServerPassword', '“Connect to target › Password”'],
  ['secretParameters.sourceServerUsername', '“Connect to source › Server admin login name”'],
  ['secretParameters.targetServerUsername', '“Connect to target › Admin username”'],
  ['targetDbServerFullyQualifiedDomainName', '“Connect to target › Fully qualified domain name or IP”'],
  ['sourceDbServerFullyQualifiedDomainName', '“Connect to source › Server name”'],
  ['sourceDbServerResourceId', '“Connect to source › Server name, Port and Server admin login name”'],
  ['overwriteDbsInTarget', OVERWRITE],
  ['dbsToMigrate', '“Select databases for migration”'],
  ['migrationMode', '“Migration mode”'],
  ['migrationOption', '“Migration option”'],
  ['sourceType', '“Source server type”'],
  ['sslMode', '“SSL mode”'],
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const FIELD_PATTERNS = FIELDS.map(([name, label]) => [new RegExp(`(?:properties\\.)?${escape(name)}\\b`, 'g'), label]);

/** `text` with every API field name it contains replaced by the form's label for it. */
export function inWords(text) {
  if (typeof text !== 'string' || text === '') return text;
  let out = text;
  for (const [pattern, words] of PHRASES) out = out.replace(pattern, words);
  for (const [pattern, label] of FIELD_PATTERNS) out = out.replace(pattern, label);
  return out;
}
