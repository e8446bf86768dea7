/**
 * What the service layer needs from its host: the state store, the secret keys, the settings and
 * a port to the orchestration runtime. The Functions adapters build it from the durable client; the
 * engine never sees a Functions type (DESIGN.md layout).
 */
import type { Settings } from '../model/settings';
import type { SecretKeys } from '../secrets/store';
import type { StoreContext } from '../store/tables';
import type { MigrationInput } from '../steps/contracts';

export interface OrchestrationPort {
  /** Starts the migration orchestrator under a fixed instance id (input: keys and choices only). */
  startMigration(instanceId: string, input: MigrationInput): Promise<void>;
  /** Raises an event on an instance; a missing or finished instance is not an error. */
  raiseEvent(instanceId: string, event: string, data: unknown): Promise<void>;
}

export interface ServiceContext {
  store: StoreContext;
  keys: SecretKeys;
  settings: Settings;
  orchestration: OrchestrationPort;
  now(): Date;
}
