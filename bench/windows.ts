import type { DatasetShape } from './seed';

const DAY_MS = 86_400_000;

/** A random window of `days` days (from midnight UTC) inside the data set's slots and after now. */
export function randomWindow(shape: DatasetShape, days: number): { from: Date; to: Date } {
  const base = Date.parse(`${shape.baseDate}T00:00:00Z`);
  const firstDay = Math.max(0, Math.ceil((Date.now() - base) / DAY_MS));
  const lastStart = Math.max(firstDay, shape.days - days);
  const day = firstDay + Math.floor(Math.random() * (lastStart - firstDay + 1));
  const from = new Date(base + day * DAY_MS);
  return { from, to: new Date(+from + days * DAY_MS) };
}
