import { quote, type RequestValidator } from './validation';

// Each updatable field once, with room for a client that repeats one.
const MAX_MASK_PATHS = 16;

/**
 * An update_mask path as the proto names it. grpcurl sends a FieldMask's paths
 * as typed (it reads a mask only as {"paths": [...]}), and request JSON names
 * fields in lowerCamelCase as well, so "slotDuration" means slot_duration.
 */
const protoPath = (path: string) => path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The fields an update_mask names, from `updatable` (proto path → field);
 * "*" names them all. A path that is not updatable, or too many paths, is a
 * violation of update_mask, listing the paths that are.
 */
export function maskedFields<F extends string>(v: RequestValidator, paths: readonly string[], updatable: Readonly<Record<string, F>>): F[] {
  if (paths.length > MAX_MASK_PATHS) v.fail('update_mask', `must name at most ${MAX_MASK_PATHS} paths`);
  if (paths.includes('*')) return Object.values(updatable);
  const known = new Set<F>();
  for (const path of paths.slice(0, MAX_MASK_PATHS)) {
    if (Object.hasOwn(updatable, protoPath(path))) known.add(updatable[protoPath(path)]);
    else v.fail('update_mask', `${quote(path)} cannot be updated; use ${Object.keys(updatable).join(', ')} or *`);
  }
  return [...known];
}
