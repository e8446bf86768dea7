/**
 * The two PATCH verbs of the fallback window (model/fallback.ts): `{"properties": {"triggerFallback":
 * "True"}}` and `{"properties": {"finalizeCutover": "True"}}` — string booleans like the ARM flags,
 * keys in any letter case. Each is a PATCH of its own: nothing else may ride along, so a half-applied
 * request cannot exist. A body that names neither (nor fallbackAfterCutover) is not one of these and
 * goes to the migration PATCH (migration-patch.ts).
 */
import { z } from 'zod';
import { fromSafeParse, reject, type Parsed } from './errors';
import { armFlag } from './flags';
import { withNormalizedKeys, type FieldSpec, type KeyNode } from './normalize';
import type { FallbackAction } from './fallback';

const VERBS = { triggerFallback: 'fallback', finalizeCutover: 'finalize' } as const satisfies Record<string, FallbackAction>;
type Verb = keyof typeof VERBS;

const object = (fields: Record<string, FieldSpec>): KeyNode => ({ kind: 'object', fields });
const READ_ONLY: FieldSpec = { readOnly: true };

const KEYS = object({
  properties: { node: object({ triggerFallback: {}, finalizeCutover: {}, fallbackAfterCutover: {} }) },
  tags: { node: { kind: 'map' } },
  id: READ_ONLY,
  name: READ_ONLY,
  type: READ_ONLY,
  location: READ_ONLY,
  systemData: READ_ONLY,
});

/** Whether a PATCH body is about the fallback window (so this module answers it). */
export function mentionsFallback(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const props = Object.entries(body).find(([k]) => k.toLowerCase() === 'properties')?.[1];
  if (typeof props !== 'object' || props === null) return false;
  return Object.keys(props).some((k) => ['triggerfallback', 'finalizecutover', 'fallbackaftercutover'].includes(k.toLowerCase()));
}

const schema = withNormalizedKeys(
  KEYS,
  z
    .object({
      properties: z.object({ triggerFallback: armFlag.optional(), finalizeCutover: armFlag.optional(), fallbackAfterCutover: z.unknown().optional() }).strict(),
      tags: z.unknown().optional(),
    })
    .strict()
    .superRefine(({ properties: p, tags }, ctx) => {
      if (p.fallbackAfterCutover !== undefined) {
        reject(ctx, 'cannot be changed on an existing migration', 'It is checked by validation before any copy; create a new migration with fallbackAfterCutover "True" to have a way back.', ['properties', 'fallbackAfterCutover']);
      }
      if (tags !== undefined) reject(ctx, 'cannot be changed in the same PATCH as a fallback verb', 'Send the tags in a separate PATCH.', ['tags']);
      const chosen = (Object.keys(VERBS) as Verb[]).filter((v) => p[v] === true);
      const [first, second] = chosen;
      if (first !== undefined && second !== undefined) {
        reject(ctx, `cannot be "True" together with ${first}`, 'Send either triggerFallback (go back to the source) or finalizeCutover (stay on the target), not both.', ['properties', second]);
      }
      if (first === undefined && p.fallbackAfterCutover === undefined) {
        reject(ctx, 'changes nothing', 'Send {"properties": {"triggerFallback": "True"}} to fall back to the source, or {"properties": {"finalizeCutover": "True"}} to keep the target and remove the way back.', ['properties']);
      }
    })
    .transform(({ properties: p }): FallbackAction => (p.triggerFallback === true ? 'fallback' : 'finalize')),
);

/** The verb of a fallback PATCH, or the 400 that says what is wrong with it. */
export function parseFallbackPatch(body: unknown): Parsed<FallbackAction> {
  return fromSafeParse(schema.safeParse(body));
}
