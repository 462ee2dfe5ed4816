import { quote, type RequestValidator } from '@carebook/server';

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** The canonical IANA name of `name` (e.g. "europe/berlin" → "Europe/Berlin"), or undefined if unknown. */
export function canonicalTimeZone(name: string): string | undefined {
  if (!IANA_NAME.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

// The longest IANA names are about 30 characters ("America/Argentina/ComodRivadavia").
const MAX_TIME_ZONE_LENGTH = 64;

/** A time zone field: its canonical IANA name, or undefined when empty (`required` records that) or invalid (recorded). */
export function parseTimeZone(v: RequestValidator, field: string, raw: string, required: boolean): string | undefined {
  const name = required ? v.requiredText(field, raw, MAX_TIME_ZONE_LENGTH) : v.optionalText(field, raw, MAX_TIME_ZONE_LENGTH);
  if (!name || !v.ok(field)) return undefined;
  const zone = canonicalTimeZone(name);
  if (!zone) v.fail(field, `${quote(name)} is not an IANA time zone name`);
  return zone;
}
