import { pollUntil } from '../../libs/testing/src/poll';
import { bookingClients, closeAll } from '../clients';
import type { BenchContext, ScenarioResult } from '../context';
import { runBurst } from '../load';
import { measure, scenarioFigures } from '../measure';
import { rawClaimRush } from '../baselines';
import { book } from './book';

/**
 * Open slots of one doctor next week (7 to 14 days ahead): the popular
 * doctor whose freshly released slots everyone wants. Two sets: one for the
 * rush, one for its raw-SQL baseline.
 */
async function popularDoctorSlots(ctx: BenchContext, count: number): Promise<string[][]> {
  const { rows } = await ctx.catalogSql.query<{ doctor_id: string; ids: string[] }>(
    `SELECT doctor_id, (array_agg(id ORDER BY start_time, id))[1:$1 * 2] AS ids
     FROM slot WHERE status = 'open' AND start_time >= now() + interval '7 days' AND start_time < now() + interval '14 days'
     GROUP BY doctor_id HAVING count(*) >= $1 * 2 ORDER BY random() LIMIT 1`,
    [count],
  );
  if (!rows.length) throw new Error(`no doctor has ${count * 2} open slots next week`);
  return [rows[0].ids.slice(0, count), rows[0].ids.slice(count)];
}

async function pendingOn(ctx: BenchContext, slotIds: string[]): Promise<number> {
  const { rows } = await ctx.bookingSql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM appointment WHERE slot_id = ANY($1::uuid[]) AND status = 'pending'`,
    [slotIds],
  );
  return rows[0].n;
}

/** Waits until booking has settled every PENDING appointment on the slots (its reconciler: grace period plus one interval). */
async function settled(ctx: BenchContext, slotIds: string[]): Promise<void> {
  await pollUntil('rush appointments settled', async () => ((await pendingOn(ctx, slotIds)) === 0 ? true : undefined), 90_000, 250);
}

/** Scenario 4: `rushClients` clients, each on its own channel, book `rushSlots` slots at the same moment. */
export async function rushScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { rushClients, rushSlots } = ctx.options;
  const [slotIds, baselineSlotIds] = await popularDoctorSlots(ctx, rushSlots);
  const baseline = await rawClaimRush(ctx, baselineSlotIds, rushClients);
  if (ctx.patients.length < rushClients) throw new Error(`the rush needs ${rushClients} patients, the data set has ${ctx.patients.length}`);
  const clients = await bookingClients(ctx.services.booking.address, rushClients);
  try {
    const m = await measure(ctx, () => runBurst(rushClients, (i) => book(ctx, clients[i], slotIds[i % slotIds.length], ctx.patients[i])));
    const winners = m.result.outcomes.ok ?? 0;
    const losers = m.result.outcomes.SLOT_UNAVAILABLE ?? 0;
    const others = rushClients - winners - losers;

    // What the databases say, once booking has settled the appointments
    // whose claim answer came too late (CATALOG_TIMEOUT leaves them PENDING
    // until the reconciler reads the slot): one BOOKED appointment per slot,
    // holding it in catalog.
    const pendingAfterRush = await pendingOn(ctx, slotIds);
    await settled(ctx, slotIds);
    const booked = await ctx.bookingSql.query<{ slot_id: string; id: string }>(
      `SELECT slot_id, id FROM appointment WHERE slot_id = ANY($1::uuid[]) AND status = 'booked'`,
      [slotIds],
    );
    const claims = await ctx.catalogSql.query<{ id: string; claim_id: string | null }>(`SELECT id, claim_id FROM slot WHERE id = ANY($1::uuid[])`, [slotIds]);
    const holder = new Map(booked.rows.map((r) => [r.slot_id, r.id]));
    const doubleBookings = booked.rows.length - new Set(booked.rows.map((r) => r.slot_id)).size;
    const mismatched = claims.rows.filter((s) => !s.claim_id || holder.get(s.id) !== s.claim_id).length;
    const settledWinners = booked.rows.length;

    const failures: string[] = [];
    if (winners > rushSlots) failures.push(`rush: ${winners} winners told BOOKED, more than the ${rushSlots} slots`);
    if (settledWinners !== rushSlots) failures.push(`rush: ${settledWinners} BOOKED appointments once settled, expected exactly ${rushSlots}`);
    if (doubleBookings) failures.push(`rush: ${doubleBookings} double bookings in the booking database`);
    if (mismatched) failures.push(`rush: ${mismatched} slots not held by their BOOKED appointment once settled`);
    if (baseline.winners !== rushSlots) failures.push(`rush baseline: ${baseline.winners} winners, expected ${rushSlots}`);
    if (ctx.options.smoke && others) failures.push(`rush: ${others} errors other than SLOT_UNAVAILABLE ${JSON.stringify(m.result.errors)}`);
    return {
      name: 'rush',
      title: `Booking rush: ${rushClients} clients on ${rushSlots} slots`,
      ...scenarioFigures('rush', m, baseline.result),
      baseline: {
        name: 'raw claim rush',
        description: `the claim UPDATE by ${rushClients} clients at once on ${rushSlots} other slots, over ${ctx.options.pool} connections (catalog's pool size)`,
        result: baseline.result,
      },
      extra: { winners, losers, otherErrors: others, pendingAfterRush, settledWinners, doubleBookings, slotsNotHeldByTheirAppointment: mismatched, baselineWinners: baseline.winners },
      // Its losers' SLOT_UNAVAILABLE are what a rush is: judged by the counts above, not as errors.
      failures,
    };
  } finally {
    closeAll(clients);
  }
}
