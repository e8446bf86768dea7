export { validateMigration, type ValidationRequest, type ValidationOutcome } from './run';
export { allowsMigration, flattenMessages, type ValidationDetails, type ValidationItem, type ValidationMessage, type DbLevelValidation } from './report';
export { CODES, type Code, type Finding } from './codes';
