/**
 * Every bound of the CDC engine a caller may leave out, in one place: batch and statement sizes,
 * memory bounds of the streaming reader, and the timeouts. Callers override the first few through
 * ApplyBatchOptions; the rest are engine constants kept here so they are seen together (a memory
 * bound is only meaningful next to the batch sizes it bounds).
 */
export const CDC_DEFAULTS = Object.freeze({
  /** Changes read per batch: upto_nchanges of the SQL peek (rows), the change budget of a stream. */
  maxRows: 200_000,
  /** Source changes per target transaction (whole source transactions are grouped up to this). */
  txnChanges: 20_000,
  /** Rows per multi-row statement on the target. */
  statementRows: 5_000,
  /** Rows per FETCH from the SQL peek cursor. */
  fetchRows: 5_000,
  /** Time box of a streamed batch, in ms. */
  streamMaxMs: 10_000,
  /** A streamed transaction reaching this many changes before its commit is written in parts. */
  hugeTxnChanges: 100_000,
  /** Size of each further part of a huge transaction being written. */
  hugePartChanges: 10_000,
  /**
   * Bytes of changes (counted as received from the walsender) one streamed batch holds at most,
   * whatever their number: a few huge rows must not exhaust memory. Decoded they take about twice
   * that. Split in apply/stream-memory.ts between the stream's buffer, the groups being written
   * and the parts of a huge transaction.
   */
  streamMemoryBytes: 64 * 1024 * 1024,
  /** Decoded changes a stream holds before it pauses its socket (back-pressure). */
  streamHighWater: 200_000,
  /** Decoded changes held below which a paused stream resumes. */
  streamLowWater: 50_000,
  /** Messages a stream decodes in one go before the event loop gets a turn. */
  streamSliceMessages: 1_000,
  /** Fewer committed changes queued than this: the stream's current group is written now. */
  streamWriteBelowQueued: 2_000,
  /** How often a long stream reports the target's durable position to the server, in ms. */
  streamConfirmEveryMs: 2_000,
  /** How long closing a stream waits for the walsender to end, in ms. */
  streamCloseMs: 5_000,
  /** How long to retry while another session holds the slot (SQLSTATE 55006), in ms. */
  slotBusyTimeoutMs: 30_000,
  /** How long dropping a slot may keep terminating the backend that holds it, in ms. */
  dropSlotTimeoutMs: 10_000,
  /** How long to wait for a terminated backend to release the replication origin, in ms. */
  originReleaseTimeoutMs: 10_000,
});
