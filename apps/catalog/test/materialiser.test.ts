import { Registry } from 'prom-client';
// The slot materialiser on its own: idempotent, extends the horizon as the
// clock moves, safe with several replicas at once, and never over another
// slot of the doctor. The clock is injected; nothing depends on real time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clinic } from '@carebook/proto/catalog';
import { createLogger } from '@carebook/server';
import { pollUntil } from '@carebook/testing';
import { createCatalogDatabase, createCatalogPrisma } from '../src/db';
import { slotMaterialiser } from '../src/schedules/materialiser';
import { startCatalogServer } from '../src/server';
import { createClinic, createDoctor, startCatalogUnderTest, TEST_CATALOG_OPTIONS, type CatalogUnderTest } from './harness';
import { DayOfWeek, EVERY_DAY, createSchedule, day, rules, slotsOfDoctor, slotsOfSchedule } from './schedule-fixtures';

const HORIZON_DAYS = 7;
let clock = new Date('2027-05-03T04:00:00Z'); // Monday, 06:00 in Berlin
let catalog: CatalogUnderTest & { materialiser: ReturnType<typeof slotMaterialiser> };
let berlin: Clinic;
const log = createLogger('catalog', process.env.TEST_LOG_LEVEL ?? 'silent');

beforeAll(async () => {
  // A long interval: the test drives the background pass itself.
  catalog = await startCatalogUnderTest({ now: () => clock, slotHorizonDays: HORIZON_DAYS, materialiseIntervalMs: 3_600_000 });
  berlin = await createClinic(catalog.client, { timeZone: 'Europe/Berlin' });
});

afterAll(async () => {
  await catalog?.close();
});

/** A new doctor with a daily 09:00-12:00 schedule of 20-minute slots (9 a day), valid from the clock's day. */
async function dailyMornings() {
  const doctor = await createDoctor(catalog.client, berlin.id);
  const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, {
    rules: rules(EVERY_DAY, '09:00', '12:00'),
    validFrom: day(clock.toISOString().slice(0, 10)),
  });
  return { doctor, schedule };
}

const rowsOf = async (scheduleId: string) => (await slotsOfSchedule(catalog.sql, scheduleId)).map((s) => [s.id, s.start_time.toISOString(), s.end_time.toISOString(), s.status]);
const throughOf = async (scheduleId: string) =>
  (await catalog.sql.query<{ through: string }>('SELECT materialised_through::text AS through FROM schedule WHERE id = $1', [scheduleId])).rows[0].through;

describe('materialisation', () => {
  it('is idempotent: running it again creates, removes and changes nothing', async () => {
    const { schedule } = await dailyMornings();
    const before = await rowsOf(schedule.id);
    expect(before).toHaveLength((HORIZON_DAYS + 1) * 9); // today and 7 more days, all after 06:00
    for (let run = 0; run < 2; run++) {
      expect(await catalog.materialiser.materialise(schedule.id)).toMatchObject({ created: 0, removed: 0, blocked: 0, orphanedClaimed: [] });
    }
    expect(await rowsOf(schedule.id)).toEqual(before);
    // Nothing is behind the horizon, so the background pass has nothing to do.
    expect(await catalog.materialiser.materialiseDue()).toEqual([]);
  });

  it('extends the horizon by one day as the clock moves on a day, once', async () => {
    const { schedule } = await dailyMornings();
    expect(await throughOf(schedule.id)).toBe('2027-05-10');
    const saved = clock;
    try {
      clock = new Date(+saved + 86_400_000);
      const pass = await catalog.materialiser.materialiseDue();
      const mine = pass.find((r) => r.scheduleId === schedule.id);
      expect(mine).toMatchObject({ through: '2027-05-11', created: 9, removed: 0 });
      expect(await throughOf(schedule.id)).toBe('2027-05-11');
      expect((await catalog.materialiser.materialiseDue()).find((r) => r.scheduleId === schedule.id)).toBeUndefined();
      // The past day's slots stay; the new day's are there.
      expect(await slotsOfSchedule(catalog.sql, schedule.id)).toHaveLength((HORIZON_DAYS + 2) * 9);
    } finally {
      clock = saved;
    }
  });

  it('never takes the place of another slot of the doctor: a manual slot blocks the occurrences it overlaps', async () => {
    const doctor = await createDoctor(catalog.client, berlin.id);
    // Tuesday 2027-05-04, 10:10-10:30 CEST: overlaps the 10:00 and 10:20 occurrences.
    const { slots: manual } = await catalog.client.createSlots({
      doctorId: doctor.id,
      slots: [{ startTime: new Date('2027-05-04T08:10:00Z'), endTime: new Date('2027-05-04T08:30:00Z') }],
    });
    const schedule = await createSchedule(catalog.client, doctor.id, berlin.id, { rules: rules([DayOfWeek.TUESDAY], '09:00', '12:00'), validFrom: day('2027-05-03') });
    const slots = await slotsOfDoctor(catalog.sql, doctor.id);
    // One Tuesday in the horizon (through 2027-05-10): 9 occurrences, 2 blocked.
    expect(slots.filter((s) => s.schedule_id === schedule.id)).toHaveLength(9 - 2);
    expect(slots.find((s) => s.id === manual[0].id)).toMatchObject({ schedule_id: null, status: 'open' });
    expect(await catalog.materialiser.materialise(schedule.id)).toMatchObject({ created: 0, blocked: 2 });
  });

  it('answers undefined for a schedule that does not exist', async () => {
    expect(await catalog.materialiser.materialise('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('skips a schedule another transaction holds, which then does it itself', async () => {
    const { schedule } = await dailyMornings();
    await catalog.sql.query('UPDATE schedule SET materialised_through = NULL WHERE id = $1', [schedule.id]);
    const holder = await catalog.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM schedule WHERE id = $1 FOR NO KEY UPDATE', [schedule.id]);
      expect((await catalog.materialiser.materialiseDue()).find((r) => r.scheduleId === schedule.id)).toBeUndefined();
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await catalog.materialiser.materialiseDue()).find((r) => r.scheduleId === schedule.id)).toMatchObject({ created: 0 });
  });
});

describe('several replicas at once', () => {
  /** Forgets that the schedule was ever materialised: no slots, no materialised_through. */
  async function reset(scheduleId: string): Promise<number> {
    const { rowCount } = await catalog.sql.query('DELETE FROM slot WHERE schedule_id = $1', [scheduleId]);
    await catalog.sql.query('UPDATE schedule SET materialised_through = NULL WHERE id = $1', [scheduleId]);
    return rowCount ?? 0;
  }

  it('eight materialisers on their own connections, background passes and direct runs mixed, create each slot exactly once', async () => {
    const schedules = [(await dailyMornings()).schedule, (await dailyMornings()).schedule, (await dailyMornings()).schedule];
    const expected = new Map<string, number>();
    for (const s of schedules) expected.set(s.id, await reset(s.id));
    const replicas = Array.from({ length: 8 }, () => createCatalogPrisma(catalog.databaseUrl, 4));
    try {
      const materialisers = replicas.map((prisma) => slotMaterialiser(prisma, { horizonDays: HORIZON_DAYS, now: () => clock, log }));
      const results = await Promise.all(
        materialisers.flatMap((m, i) => [
          m.materialiseDue(),
          m.materialise(schedules[i % schedules.length].id).then((r) => (r ? [r] : [])),
        ]),
      );
      for (const s of schedules) {
        const created = results.flat().filter((r) => r.scheduleId === s.id).reduce((sum, r) => sum + r.created, 0);
        expect(created, 'slots created across all runs').toBe(expected.get(s.id));
        const slots = await slotsOfSchedule(catalog.sql, s.id);
        expect(slots).toHaveLength(expected.get(s.id)!);
        expect(new Set(slots.map((x) => x.start_time.toISOString())).size).toBe(slots.length);
      }
    } finally {
      await Promise.all(replicas.map((p) => p.$disconnect()));
    }
  });

  it('two more catalog servers on the same database materialise at start-up without duplicates', async () => {
    const { schedule } = await dailyMornings();
    const expected = await reset(schedule.id);
    const databases = [createCatalogDatabase(catalog.databaseUrl, 4), createCatalogDatabase(catalog.databaseUrl, 4)];
    const servers = await Promise.all(
      databases.map((database) =>
        startCatalogServer({ ...database, log, now: () => clock, metrics: new Registry() }, { ...TEST_CATALOG_OPTIONS, shutdownGraceMs: 1000, slotHorizonDays: HORIZON_DAYS }),
      ),
    );
    try {
      await pollUntil('the start-up passes to finish', async () => ((await throughOf(schedule.id)) ? true : undefined));
      // Both start-up passes are done once a further pass on each finds nothing due.
      for (const server of servers) expect((await server.materialiser.materialiseDue()).find((r) => r.scheduleId === schedule.id)).toBeUndefined();
      const slots = await slotsOfSchedule(catalog.sql, schedule.id);
      expect(slots).toHaveLength(expected);
      expect(new Set(slots.map((s) => s.start_time.toISOString())).size).toBe(expected);
    } finally {
      await Promise.all(servers.map((s) => s.shutdown()));
      await Promise.all(databases.map((d) => d.prisma.$disconnect()));
    }
  });
});

describe('the background loop', () => {
  it('runs at start-up and brings a schedule the server has never seen up to the horizon', async () => {
    const { schedule } = await dailyMornings();
    const expected = (await slotsOfSchedule(catalog.sql, schedule.id)).length;
    await catalog.sql.query('DELETE FROM slot WHERE schedule_id = $1', [schedule.id]);
    await catalog.sql.query('UPDATE schedule SET materialised_through = NULL WHERE id = $1', [schedule.id]);
    const { prisma, sql } = createCatalogDatabase(catalog.databaseUrl, 4);
    const server = await startCatalogServer({ prisma, sql, log, now: () => clock, metrics: new Registry() }, { ...TEST_CATALOG_OPTIONS, shutdownGraceMs: 1000, slotHorizonDays: HORIZON_DAYS });
    try {
      const count = await pollUntil('the start-up pass', async () => {
        const n = (await slotsOfSchedule(catalog.sql, schedule.id)).length;
        return n === expected && (await throughOf(schedule.id)) ? n : undefined;
      });
      expect(count).toBe(expected);
    } finally {
      await server.shutdown();
      await prisma.$disconnect();
    }
  });
});
