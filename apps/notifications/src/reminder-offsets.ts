import { BadValue, type EnvVar } from '@carebook/server';

// NOTIFY_REMINDER_OFFSETS: how long before an appointment's start each
// reminder is due, e.g. "24h,2h". Anything else is refused at start-up,
// since a typo would silently drop or flood reminders.

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const OFFSET = /^(\d+)(ms|s|m|h|d)$/;
/** The longest offset: it must fit the notification row's integer column (about 24.8 days). */
export const MAX_REMINDER_OFFSET_MS = 14 * UNIT_MS.d;

/** Parses "24h,2h" into distinct offsets in milliseconds, longest first; throws BadValue naming the bad part. */
export function parseReminderOffsets(raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  const offsets = parts.map((part) => {
    const match = OFFSET.exec(part);
    if (!match) throw new BadValue(`must be durations like "24h,2h" (digits then ms, s, m, h or d), got ${JSON.stringify(part.slice(0, 32))}`);
    const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    // Whole seconds: a reminder's Message-ID names its offset in seconds (messages/message-id.ts).
    if (ms <= 0 || ms > MAX_REMINDER_OFFSET_MS || ms % 1000 !== 0) {
      throw new BadValue(`must be whole seconds from 1s to 14d, got ${JSON.stringify(part.slice(0, 32))}`);
    }
    return ms;
  });
  return [...new Set(offsets)].sort((a, b) => b - a);
}

/** The reminder offsets variable, `fallback` when unset or empty. */
export function reminderOffsets(describe: string, fallback: string): EnvVar<number[]> {
  return { describe, parse: (raw) => parseReminderOffsets(raw === undefined || raw.trim() === '' ? fallback : raw) };
}
