import { NotFoundError } from './errors';

// Batch reads (AIP-231): up to MAX_BATCH_GET ids, answered in the order
// asked, all or nothing.

/** The most ids one batch read names. */
export const MAX_BATCH_GET = 100;

/** `found` in the order of `ids` (an id may repeat); NOT_FOUND naming the first id that was not found. */
export function inRequestOrder<T extends { id: string }>(resource: string, ids: readonly string[], found: readonly T[]): T[] {
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (!row) throw new NotFoundError(resource, id);
    return row;
  });
}
