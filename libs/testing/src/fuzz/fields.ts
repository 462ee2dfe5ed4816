// A generic walk over ts-proto messages: every field that is set, with its
// path, so a mutation can target any of them without knowing the message type.

/** A step into a message (a field name) or into a repeated field (an index). */
export type FieldPath = (string | number)[];

export type FieldKind = 'string' | 'number' | 'boolean' | 'date' | 'bytes' | 'message' | 'list';

/** A field that is set in a request, with the kind of value it holds. */
export interface FieldRef {
  path: FieldPath;
  kind: FieldKind;
}

function kindOf(value: unknown): FieldKind | undefined {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'date';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'list';
  if (value !== null && typeof value === 'object') return 'message';
  return undefined;
}

/** Every set field of `message` and of its nested messages and repeated fields, depth first. */
export function fieldsOf(message: object, path: FieldPath = []): FieldRef[] {
  const entries: [string | number, unknown][] = Array.isArray(message) ? message.map((v, i) => [i, v]) : Object.entries(message);
  return entries.flatMap(([key, value]) => {
    const kind = kindOf(value);
    if (!kind) return [];
    const ref = { path: [...path, key], kind };
    return kind === 'message' || kind === 'list' ? [ref, ...fieldsOf(value as object, ref.path)] : [ref];
  });
}

/** The name of the field a path ends in: for an element of a repeated field, the field's name. */
export function fieldName(path: FieldPath): string {
  return String([...path].reverse().find((step) => typeof step === 'string') ?? '');
}

/** 'schedule.rules[0].startLocalTime', for messages. */
export function pathText(path: FieldPath): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('') || '(root)';
}

/** The value at `path`. */
export function valueAt(message: unknown, path: FieldPath): unknown {
  return path.reduce<unknown>((node, step) => (node as Record<string | number, unknown>)?.[step], message);
}

/** A deep copy of `message` with `value` at `path`. */
export function withValueAt<T>(message: T, path: FieldPath, value: unknown): T {
  const copy = structuredClone(message);
  const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]] = value;
  return copy;
}
