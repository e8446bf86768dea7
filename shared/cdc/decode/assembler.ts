/**
 * What both decoders share: the source transaction being assembled until its commit is decoded,
 * and the hand-off of its changes so far (the streaming reader writes a huge transaction in parts).
 */
import type { Change, SourceTransaction } from '../change';

export abstract class TransactionAssembler {
  protected open: SourceTransaction | undefined;

  /** Changes of the transaction still open at the end of the last push. */
  get pendingChanges(): number {
    return this.open?.changes.length ?? 0;
  }

  /** The transaction whose commit has not been seen yet. */
  get openTransaction(): SourceTransaction | undefined {
    return this.open;
  }

  /** Takes the changes of the open transaction decoded so far (it stays open, and is returned at its commit). */
  takeOpenChanges(): Change[] {
    const t = this.open;
    if (!t) return [];
    const changes = t.changes;
    t.changes = [];
    return changes;
  }
}
