// A patient reads an appointment's time on the clinic's wall clock, with the
// zone spelt out, so a patient in another zone (or a phone set to one) is not
// misled: "Mon 29 Mar 2027, 09:00 CEST (Europe/Berlin)".
//
// Intl's short zone names depend on the locale: ICU gives an abbreviation
// only where it is commonly used there (en-GB knows CEST but calls New York
// GMT-5; en-US the reverse; only en-IN knows IST for Asia/Kolkata). So the
// locales below are asked in turn and the first abbreviation wins; a zone
// with none anywhere (Asia/Tokyo, America/Sao_Paulo) shows its offset, such as
// "GMT+9". No two of these locales name any IANA zone differently (checked
// over every zone with ICU 78), and the IANA name after it settles the
// abbreviations shared by several zones, such as IST.

const ABBREVIATION_LOCALES = ['en-US', 'en-GB', 'en-IN', 'en-AU', 'en-CA', 'en-NZ', 'en-IE', 'en-ZA'];

// "GMT+1", "GMT-3:30", "GMT+0": an offset, not a name ("GMT" and "UTC" alone are names).
const OFFSET = /^(GMT|UTC)[+-]/;

// Building an Intl.DateTimeFormat costs far more than formatting with one (a
// reminder burst spent more time here than in any other code of its own), so
// each (locale, zone, style) is built once. The set is bounded: catalog keeps
// zones by their canonical names, and a zone Intl does not know throws
// before anything is kept.
const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(locale: string, timeZone: string, style: 'zone' | 'wall'): Intl.DateTimeFormat {
  const key = `${style} ${locale} ${timeZone}`;
  let format = formats.get(key);
  if (!format) {
    const options: Intl.DateTimeFormatOptions =
      style === 'zone'
        ? { timeZone, timeZoneName: 'short' }
        : { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    format = new Intl.DateTimeFormat(locale, options);
    formats.set(key, format);
  }
  return format;
}

function shortZoneName(instant: Date, timeZone: string, locale: string): string {
  const parts = formatOf(locale, timeZone, 'zone').formatToParts(instant);
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
}

/** The zone's abbreviation at `instant` (CET or CEST), else its offset from GMT ("GMT+5:45"). */
function zoneAbbreviation(instant: Date, timeZone: string): string {
  let offset = '';
  for (const locale of ABBREVIATION_LOCALES) {
    const name = shortZoneName(instant, timeZone, locale);
    if (!OFFSET.test(name)) return name;
    offset ||= name;
  }
  return offset;
}

/**
 * `instant` on the wall clock of `timeZone`, 24-hour, with the zone's
 * abbreviation and IANA name: "Sun 7 Mar 2027, 09:00 EST (America/New_York)".
 * Throws RangeError for a zone Intl does not know.
 */
export function wallClock(instant: Date, timeZone: string): string {
  // en-US spells months the same in every ICU version (en-GB has "Sept").
  const part = Object.fromEntries(formatOf('en-US', timeZone, 'wall').formatToParts(instant).map((p) => [p.type, p.value]));
  return `${part.weekday} ${part.day} ${part.month} ${part.year}, ${part.hour}:${part.minute} ${zoneAbbreviation(instant, timeZone)} (${timeZone})`;
}
