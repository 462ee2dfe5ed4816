// Daylight-saving transitions, for the three zones the issue names. Each case
// pins the clock a few days before a real transition, creates a schedule
// valid only around it, and compares the materialised slots with exact UTC
// instants worked out by hand from the zone's offsets. Every slot is also
// checked against Node's own time-zone data, independent of PostgreSQL's.
//
// Transitions (local wall clock):
//   Europe/Berlin        2027-03-28 02:00 CET → 03:00 CEST;  2027-10-31 03:00 CEST → 02:00 CET
//                        2028-03-26 (same);                  2028-10-29 (same)
//   America/New_York     2027-03-14 02:00 EST → 03:00 EDT;   2027-11-07 02:00 EDT → 01:00 EST
//                        2028-03-12 (same);                  2028-11-05 (same)
//   Australia/Lord_Howe  2027-10-03 02:00 → 02:30 (+10:30 → +11, a 30-minute shift);
//                        2027-04-04 02:00 → 01:30 (+11 → +10:30); 2028-10-01 and 2028-04-02 the same.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic, Doctor } from '@carebook/proto/catalog';
import { createClinic, createDoctor, startCatalogUnderTest, type CatalogUnderTest } from './harness';
import {
  DayOfWeek,
  EVERY_DAY,
  OFFICE_HOURS,
  createSchedule,
  day,
  expectNoOverlap,
  isoStarts,
  minutes,
  rules,
  slotsOfSchedule,
  wallClock,
  type SlotRow,
} from './schedule-fixtures';

let clock = new Date('2027-01-01T00:00:00Z');
let catalog: CatalogUnderTest;
const clinics: Record<string, Clinic> = {};

beforeAll(async () => {
  catalog = await startCatalogUnderTest({ now: () => clock, slotHorizonDays: 30 });
  for (const timeZone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
    clinics[timeZone] = await createClinic(catalog.client, { displayName: `Clinic in ${timeZone}`, timeZone });
  }
});

afterAll(async () => {
  await catalog?.close();
});

interface Case {
  zone: string;
  /** The schedule is valid on these local dates only. */
  from: string;
  until: string;
  days: DayOfWeek[];
  start: string;
  end: string;
  slotMinutes: number;
}

/** Creates a fresh doctor and the case's schedule with the clock a week before `from`; returns its slots. */
async function materialise(c: Case): Promise<{ slots: SlotRow[]; doctor: Doctor }> {
  clock = new Date(Date.parse(`${c.from}T12:00:00Z`) - 7 * 86_400_000);
  const clinic = clinics[c.zone];
  const doctor = await createDoctor(catalog.client, clinic.id);
  const schedule = await createSchedule(catalog.client, doctor.id, clinic.id, {
    rules: rules(c.days, c.start, c.end),
    slotDuration: minutes(c.slotMinutes),
    validFrom: day(c.from),
    validUntil: day(c.until),
  });
  const slots = await slotsOfSchedule(catalog.sql, schedule.id);
  checkInvariants(c, slots);
  return { slots, doctor };
}

/**
 * What must hold whatever the case: each slot lasts exactly the duration in
 * real time; none overlap; each starts and ends on the clinic's wall clock
 * at a grid time start + k × duration within the rule's hours (so none
 * starts in a skipped hour); and no wall-clock start time repeats on a day.
 */
function checkInvariants(c: Case, slots: SlotRow[]): void {
  expectNoOverlap(slots);
  const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const [ruleStart, ruleEnd] = [toMinutes(c.start), toMinutes(c.end)];
  const seen = new Set<string>();
  for (const slot of slots) {
    expect(+slot.end_time - +slot.start_time).toBe(c.slotMinutes * 60_000);
    const localStart = wallClock(slot.start_time, c.zone);
    const localEnd = wallClock(new Date(+slot.end_time - 1), c.zone); // the slot's last instant
    const startMinute = toMinutes(localStart.slice(11));
    expect((startMinute - ruleStart) % c.slotMinutes, `${localStart} is off the grid`).toBe(0);
    expect(startMinute).toBeGreaterThanOrEqual(ruleStart);
    // No clock change inside the slot: its last instant shows start + duration - 1 ms.
    expect(toMinutes(localEnd.slice(11)) + 1).toBe(startMinute + c.slotMinutes);
    expect(startMinute + c.slotMinutes).toBeLessThanOrEqual(ruleEnd);
    expect(seen.has(localStart), `two slots start at ${localStart}`).toBe(false);
    seen.add(localStart);
  }
}

const utc = (...instants: string[]) => instants.map((i) => new Date(i).toISOString());

describe('a rule honours its local times on both sides of a transition', () => {
  it.each([
    // zone, days around the transition, expected 09:00 local in UTC on each
    ['Europe/Berlin', '2027-03-26', '2027-03-29', ['2027-03-26T08:00Z', '2027-03-27T08:00Z', '2027-03-28T07:00Z', '2027-03-29T07:00Z']],
    ['Europe/Berlin', '2027-10-29', '2027-11-01', ['2027-10-29T07:00Z', '2027-10-30T07:00Z', '2027-10-31T08:00Z', '2027-11-01T08:00Z']],
    ['America/New_York', '2027-03-12', '2027-03-15', ['2027-03-12T14:00Z', '2027-03-13T14:00Z', '2027-03-14T13:00Z', '2027-03-15T13:00Z']],
    ['America/New_York', '2027-11-05', '2027-11-08', ['2027-11-05T13:00Z', '2027-11-06T13:00Z', '2027-11-07T14:00Z', '2027-11-08T14:00Z']],
    ['Australia/Lord_Howe', '2027-10-01', '2027-10-04', ['2027-09-30T22:30Z', '2027-10-01T22:30Z', '2027-10-02T22:00Z', '2027-10-03T22:00Z']],
    ['Australia/Lord_Howe', '2027-04-02', '2027-04-05', ['2027-04-01T22:00Z', '2027-04-02T22:00Z', '2027-04-03T22:30Z', '2027-04-04T22:30Z']],
    ['Europe/Berlin', '2028-03-25', '2028-03-26', ['2028-03-25T08:00Z', '2028-03-26T07:00Z']],
    ['America/New_York', '2028-11-04', '2028-11-05', ['2028-11-04T13:00Z', '2028-11-05T14:00Z']],
    ['Australia/Lord_Howe', '2028-09-30', '2028-10-01', ['2028-09-29T22:30Z', '2028-09-30T22:00Z']],
  ])('%s, %s to %s: 09:00-10:00 in three 20-minute slots every day', async (zone, from, until, nineOClocks) => {
    const { slots } = await materialise({ zone, from, until, days: EVERY_DAY, start: '09:00', end: '10:00', slotMinutes: 20 });
    const expected = nineOClocks.flatMap((nine) => [0, 20, 40].map((m) => new Date(Date.parse(nine) + m * 60_000).toISOString()));
    expect(isoStarts(slots)).toEqual(expected);
    for (const slot of slots) expect(wallClock(slot.start_time, zone).slice(11)).toMatch(/^09:(00|20|40)$/);
  });

  it("keeps the issue's office hours (09:00-12:30, 14:00-17:00, 20 minutes) through the Berlin spring week: 19 slots a weekday", async () => {
    const zone = 'Europe/Berlin';
    clock = new Date('2027-03-20T00:00:00Z');
    const doctor = await createDoctor(catalog.client, clinics[zone].id);
    const schedule = await createSchedule(catalog.client, doctor.id, clinics[zone].id, {
      rules: OFFICE_HOURS,
      validFrom: day('2027-03-22'),
      validUntil: day('2027-04-02'),
    });
    const slots = await slotsOfSchedule(catalog.sql, schedule.id);
    const perDay = new Map<string, string[]>();
    for (const s of slots) {
      const local = wallClock(s.start_time, zone);
      perDay.set(local.slice(0, 10), [...(perDay.get(local.slice(0, 10)) ?? []), local.slice(11)]);
    }
    expect([...perDay.keys()]).toEqual(['2027-03-22', '2027-03-23', '2027-03-24', '2027-03-25', '2027-03-26', '2027-03-29', '2027-03-30', '2027-03-31', '2027-04-01', '2027-04-02']);
    for (const times of perDay.values()) {
      expect(times).toHaveLength(19);
      expect(times[0]).toBe('09:00');
      expect(times[9]).toBe('12:00');
      expect(times[10]).toBe('14:00');
      expect(times[18]).toBe('16:40');
    }
    // Friday before (UTC+1) and Monday after (UTC+2).
    expect(slots.find((s) => s.start_time.toISOString().startsWith('2027-03-26'))!.start_time.toISOString()).toBe('2027-03-26T08:00:00.000Z');
    expect(slots.find((s) => s.start_time.toISOString().startsWith('2027-03-29'))!.start_time.toISOString()).toBe('2027-03-29T07:00:00.000Z');
    expectNoOverlap(slots);
  });
});

describe('the skipped hour (clocks go forward)', () => {
  it.each([
    // Berlin: 02:00-02:59 does not exist. 01:40 CET ends exactly at the change.
    ['Europe/Berlin', '2027-03-28', '01:00', '04:00', 20, utc('2027-03-28T00:00Z', '2027-03-28T00:20Z', '2027-03-28T00:40Z', '2027-03-28T01:00Z', '2027-03-28T01:20Z', '2027-03-28T01:40Z')],
    ['Europe/Berlin', '2028-03-26', '01:00', '04:00', 20, utc('2028-03-26T00:00Z', '2028-03-26T00:20Z', '2028-03-26T00:40Z', '2028-03-26T01:00Z', '2028-03-26T01:20Z', '2028-03-26T01:40Z')],
    // New York: 02:00-02:59 does not exist.
    ['America/New_York', '2027-03-14', '01:00', '04:00', 30, utc('2027-03-14T06:00Z', '2027-03-14T06:30Z', '2027-03-14T07:00Z', '2027-03-14T07:30Z')],
    ['America/New_York', '2028-03-12', '01:00', '04:00', 30, utc('2028-03-12T06:00Z', '2028-03-12T06:30Z', '2028-03-12T07:00Z', '2028-03-12T07:30Z')],
    // Lord Howe: 02:00-02:29 does not exist; 02:00 and 02:20 are skipped, 02:40 is kept.
    ['Australia/Lord_Howe', '2027-10-03', '01:00', '03:30', 20, utc('2027-10-02T14:30Z', '2027-10-02T14:50Z', '2027-10-02T15:10Z', '2027-10-02T15:40Z', '2027-10-02T16:00Z')],
    ['Australia/Lord_Howe', '2028-10-01', '01:00', '03:30', 20, utc('2028-09-30T14:30Z', '2028-09-30T14:50Z', '2028-09-30T15:10Z', '2028-09-30T15:40Z', '2028-09-30T16:00Z')],
  ])('%s on %s, %s-%s in %i-minute slots: no slot starts in the gap', async (zone, date, start, end, slotMinutes, expected) => {
    const { slots } = await materialise({ zone, from: date, until: date, days: EVERY_DAY, start, end, slotMinutes });
    expect(isoStarts(slots)).toEqual(expected);
    const gap = zone === 'Australia/Lord_Howe' ? /^02:[0-2]\d$/ : /^02:/;
    for (const slot of slots) expect(wallClock(slot.start_time, zone).slice(11)).not.toMatch(gap);
  });

  it('drops a slot the jump falls inside, which would overlap the next one (Berlin, 45-minute slots from 01:30)', async () => {
    // Grid 01:30, 02:15, 03:00, 03:45. 01:30 CET + 45 min would end at 03:15
    // CEST, past the 03:00 slot; 02:15 does not exist.
    const { slots } = await materialise({ zone: 'Europe/Berlin', from: '2027-03-28', until: '2027-03-28', days: EVERY_DAY, start: '01:30', end: '04:30', slotMinutes: 45 });
    expect(isoStarts(slots)).toEqual(utc('2027-03-28T01:00Z', '2027-03-28T01:45Z'));
  });

  it('keeps a slot that ends exactly at the jump (Berlin, 45-minute slots from 00:30)', async () => {
    // Grid 00:30, 01:15 (ends 02:00 CET = 03:00 CEST, the change itself), 02:00 and 02:45 do not exist, 03:30, 04:15.
    const { slots } = await materialise({ zone: 'Europe/Berlin', from: '2027-03-28', until: '2027-03-28', days: EVERY_DAY, start: '00:30', end: '05:30', slotMinutes: 45 });
    expect(isoStarts(slots)).toEqual(utc('2027-03-27T23:30Z', '2027-03-28T00:15Z', '2027-03-28T01:30Z', '2027-03-28T02:15Z'));
  });
});

describe('the repeated hour (clocks go back)', () => {
  it.each([
    // Berlin: 02:00-02:59 happens twice; the slots take the second pass (CET), the first pass gets none.
    ['Europe/Berlin', '2027-10-31', '01:00', '04:00', 20, utc('2027-10-30T23:00Z', '2027-10-30T23:20Z', '2027-10-30T23:40Z', '2027-10-31T01:00Z', '2027-10-31T01:20Z', '2027-10-31T01:40Z', '2027-10-31T02:00Z', '2027-10-31T02:20Z', '2027-10-31T02:40Z')],
    ['Europe/Berlin', '2028-10-29', '01:00', '04:00', 20, utc('2028-10-28T23:00Z', '2028-10-28T23:20Z', '2028-10-28T23:40Z', '2028-10-29T01:00Z', '2028-10-29T01:20Z', '2028-10-29T01:40Z', '2028-10-29T02:00Z', '2028-10-29T02:20Z', '2028-10-29T02:40Z')],
    // New York: 01:00-01:59 happens twice.
    ['America/New_York', '2027-11-07', '00:00', '03:00', 30, utc('2027-11-07T04:00Z', '2027-11-07T04:30Z', '2027-11-07T06:00Z', '2027-11-07T06:30Z', '2027-11-07T07:00Z', '2027-11-07T07:30Z')],
    ['America/New_York', '2028-11-05', '00:00', '03:00', 30, utc('2028-11-05T04:00Z', '2028-11-05T04:30Z', '2028-11-05T06:00Z', '2028-11-05T06:30Z', '2028-11-05T07:00Z', '2028-11-05T07:30Z')],
    // Lord Howe: 01:30-01:59 happens twice (a 30-minute shift); 01:40 is made once, in the second pass.
    ['Australia/Lord_Howe', '2027-04-04', '01:00', '03:00', 20, utc('2027-04-03T14:00Z', '2027-04-03T14:20Z', '2027-04-03T15:10Z', '2027-04-03T15:30Z', '2027-04-03T15:50Z', '2027-04-03T16:10Z')],
    ['Australia/Lord_Howe', '2028-04-02', '01:00', '03:00', 20, utc('2028-04-01T14:00Z', '2028-04-01T14:20Z', '2028-04-01T15:10Z', '2028-04-01T15:30Z', '2028-04-01T15:50Z', '2028-04-01T16:10Z')],
  ])('%s on %s, %s-%s in %i-minute slots: one slot per wall-clock time, none overlapping', async (zone, date, start, end, slotMinutes, expected) => {
    const { slots } = await materialise({ zone, from: date, until: date, days: EVERY_DAY, start, end, slotMinutes });
    expect(isoStarts(slots)).toEqual(expected);
  });
});

describe('a rule that reaches midnight', () => {
  it('makes its last slot end at 24:00 local, the next day in UTC (Lord Howe, 22:00-24:00)', async () => {
    const { slots } = await materialise({ zone: 'Australia/Lord_Howe', from: '2027-07-05', until: '2027-07-05', days: [DayOfWeek.MONDAY], start: '22:00', end: '24:00', slotMinutes: 60 });
    // Winter: +10:30. 22:00 local = 11:30Z; the last slot ends at 00:00 local on 2027-07-06 = 13:30Z.
    expect(slots.map((s) => [s.start_time.toISOString(), s.end_time.toISOString()])).toEqual([
      ['2027-07-05T11:30:00.000Z', '2027-07-05T12:30:00.000Z'],
      ['2027-07-05T12:30:00.000Z', '2027-07-05T13:30:00.000Z'],
    ]);
  });
});
