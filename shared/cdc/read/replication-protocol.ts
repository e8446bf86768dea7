/**
 * The pieces of the streaming replication protocol the stream needs that node-pg does not
 * provide: the START_REPLICATION command, a "submittable" that routes CopyBoth data to the
 * stream, and the standby status update (the only message a logical client sends back).
 */
import { quoteIdent } from '../../pg/ident';
import { formatLsn, parseLsn } from '../lsn';
import type { Plugin } from '../slot';
import { pluginOptions } from './read-sql';

/** ms between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch). */
const PG_EPOCH_MS = 946_684_800_000;

/** The parts of node-pg's Connection the stream drives (not in its type definitions). */
export interface RawConnection {
  stream: { pause(): void; resume(): void };
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * START_REPLICATION SLOT … LOGICAL … with the plugin's options. A walsender command takes no
 * parameters: names are quoted by quoteIdent, option values as string literals.
 */
export function startReplicationCommand(slot: string, plugin: Plugin, publication: string, startLsn: string): string {
  const options = pluginOptions(plugin, publication);
  const list: string[] = [];
  for (let i = 0; i + 1 < options.length; i += 2) list.push(`${quoteIdent(String(options[i]))} '${String(options[i + 1]).replace(/'/g, "''")}'`);
  return `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(parseLsn(startLsn))} (${list.join(', ')})`;
}

/** Standby status update ('r'): written = flushed = applied = `lsn`, and whether a reply is wanted. */
export function standbyStatus(lsn: bigint, replyRequested: boolean): Buffer {
  const msg = Buffer.alloc(34);
  msg.write('r', 0);
  msg.writeBigUInt64BE(lsn, 1);
  msg.writeBigUInt64BE(lsn, 9);
  msg.writeBigUInt64BE(lsn, 17);
  msg.writeBigInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
  msg.writeUInt8(replyRequested ? 1 : 0, 33);
  return msg;
}

/** node-pg "submittable": START_REPLICATION, then CopyBoth data routed to the stream. */
export class ReplicationQuery {
  private resolveEnd!: () => void;
  private rejectEnd!: (err: Error) => void;
  readonly ended: Promise<void>;
  constructor(
    private readonly text: string,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    this.ended = new Promise<void>((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    // Never an unhandled rejection: the stream checks `ended` itself.
    this.ended.catch(() => undefined);
  }
  submit(connection: { query: (text: string) => void }): void {
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    this.onData(msg.chunk);
  }
  handleError(err: Error): void {
    this.rejectEnd(err);
  }
  handleReadyForQuery(): void {
    this.resolveEnd();
  }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
}
