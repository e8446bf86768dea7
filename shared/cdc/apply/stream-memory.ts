/**
 * How a streamed batch spends its memory budget (ApplyBatchOptions.memoryBytes), in bytes of
 * changes as received. Each holder gets a share, so together they stay within the budget:
 *  - the stream's buffer (committed transactions not handed out, plus the open one): the socket
 *    is paused above a quarter and resumed below a sixteenth;
 *  - the group being filled and the group being written: each is written once it reaches a
 *    quarter;
 *  - an open transaction reaching a quarter is written in parts (huge.ts), each further part at
 *    an eighth, inside one target transaction committed with its progress (exactly once).
 * The change-count bounds of CDC_DEFAULTS still apply: whichever is reached first.
 */
import { CDC_DEFAULTS } from '../defaults';

export interface StreamMemory {
  /** Stream buffer above which the socket is paused. */
  highWaterBytes: number;
  /** Stream buffer below which a paused socket resumes. */
  lowWaterBytes: number;
  /** A group of this many bytes is written. */
  groupBytes: number;
  /** An open transaction of this many bytes is written in parts. */
  hugeTxnBytes: number;
  /** Size of each further part. */
  hugePartBytes: number;
}

export function streamMemory(budget: number = CDC_DEFAULTS.streamMemoryBytes): StreamMemory {
  const b = Math.max(1, Math.floor(budget));
  return {
    highWaterBytes: Math.ceil(b / 4),
    lowWaterBytes: Math.ceil(b / 16),
    groupBytes: Math.ceil(b / 4),
    hugeTxnBytes: Math.ceil(b / 4),
    hugePartBytes: Math.ceil(b / 8),
  };
}
