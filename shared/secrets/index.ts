export { seal, open, keyId, SecretKeyError, type Sealed } from './crypto';
export { putSecrets, getSecrets, deleteSecrets, resealAll, type MigrationSecrets, type SecretKeys } from './store';
