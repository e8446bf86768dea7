/**
 * The torture runner's verdict on one database: the suite's independent judge
 * (test/support/judge.ts: every table's rows, sequences, large objects and the schema as catalog
 * facts), nothing of pgferry's own verification.
 */
export { judgeDatabase, type Judgement } from '../support/judge';
