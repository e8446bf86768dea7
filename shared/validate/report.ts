/**
 * The ARM `validationDetails` shape (research/arm-migration-api.md §3) and its roll-up rules:
 * an item is as bad as its worst message; the whole is as bad as its worst item.
 */
import type { ValidationState, ValidationType } from '../model/states';
import type { Finding } from './codes';

/** One message of a validation item; ARM has `state` and `message`, pgferry adds `code` and `fix`. */
export interface ValidationMessage {
  state: ValidationState;
  message: string;
  code: string;
  fix: string;
}

export interface ValidationItem {
  type: ValidationType | 'DatabaseValidation';
  state: ValidationState;
  messages: ValidationMessage[];
}

export interface DbLevelValidation {
  databaseName: string;
  startedOn: string;
  endedOn: string;
  summary: ValidationItem[];
}

export interface ValidationDetails {
  status: ValidationState;
  validationStartTimeInUtc: string;
  validationEndTimeInUtc: string;
  serverLevelValidationDetails: ValidationItem[];
  dbLevelValidationDetails: DbLevelValidation[];
}

const RANK: Record<ValidationState, number> = { Succeeded: 0, Warning: 1, Failed: 2 };

export function worst(states: readonly ValidationState[]): ValidationState {
  return states.reduce<ValidationState>((w, s) => (RANK[s] > RANK[w] ? s : w), 'Succeeded');
}

export function item(type: ValidationItem['type'], findings: readonly Finding[]): ValidationItem {
  const messages = findings.map(({ state, message, code, fix }) => ({ state, message, code, fix }));
  return { type, state: worst(messages.map((m) => m.state)), messages };
}

export function overallStatus(details: Pick<ValidationDetails, 'serverLevelValidationDetails' | 'dbLevelValidationDetails'>): ValidationState {
  return worst([
    ...details.serverLevelValidationDetails.map((i) => i.state),
    ...details.dbLevelValidationDetails.flatMap((d) => d.summary.map((i) => i.state)),
  ]);
}

/** ValidateAndMigrate proceeds only when nothing Failed. */
export function allowsMigration(details: ValidationDetails): boolean {
  return details.status !== 'Failed';
}

/** Every message with its code, for tests and the CLI: "[603107] Failed: … — fix: …". */
export function flattenMessages(details: ValidationDetails): Array<ValidationMessage & { type: string; database?: string }> {
  return [
    ...details.serverLevelValidationDetails.flatMap((i) => i.messages.map((m) => ({ ...m, type: i.type }))),
    ...details.dbLevelValidationDetails.flatMap((d) =>
      d.summary.flatMap((i) => i.messages.map((m) => ({ ...m, type: i.type, database: d.databaseName })))),
  ];
}
