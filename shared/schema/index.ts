/**
 * Schema migration from the catalogs, without pg_dump: extract the source's schema into an
 * ordered plan, then apply it to the target phase by phase.
 *
 *   const facts = await readTargetFacts(target);
 *   const plan = await extractSchema(source, facts);
 *   const pre = await applyPhase(plan, 'pre-data', connectTarget, { concurrency: 8 });
 *   … copy rows (plan.tables) …
 *   const keys = await applyPhase(plan, 'keys', connectTarget, { previous: [pre] });
 *   … replay to the consistency point …
 *   await applyPhase(plan, 'post-data', connectTarget, { previous: [pre, keys] });
 */
export { extractSchema, buildPlan, readCatalog, type Catalog, type ExtractOptions } from './extract';
export { readTargetFacts, type TargetFacts } from './target';
export {
  applyPhase,
  applyObjects,
  describeFailures,
  type ApplyOptions,
  type ConnectTarget,
  type ObjectError,
  type ObjectResult,
  type ObjectStatus,
  type PhaseReport,
} from './apply';
export { orderObjects } from './order';
export type { RenderOptions } from './render/builder';
export * from './model';
