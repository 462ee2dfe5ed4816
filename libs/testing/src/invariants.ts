import pg from 'pg';

/** What the checker found; `violations` is empty when every invariant holds. */
export interface InvariantReport {
  violations: string[];
  bookedAppointments: number;
  claimedSlots: number;
  overduePending: number;
  releasesOwed: number;
  /** Slot conflicts still open: booked appointments whose slot catalog let go of. */
  openConflicts: number;
  heldAppointments: number;
  /** Slots held in catalog, lapsed or not. */
  heldSlots: number;
  /** HELD appointments whose hold lapsed longer ago than the grace period. */
  lapsedHolds: number;
}

export interface InvariantOptions {
  /**
   * Also check what holds once the reconciler and the dispatcher have run:
   * every claimed slot has its BOOKED appointment and every held slot its
   * HELD one, no PENDING appointment is older than the grace period, no HELD
   * one lapsed longer ago than that, no EXPIRED one holds a slot, no slot
   * release is still owed.
   */
  settled: boolean;
  /** The booking service's reconcile grace period. */
  graceMs: number;
}

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Reads the catalog and booking databases and checks the booking
 * invariants across them (docs/booking-protocol.md, section 3).
 */
export async function checkBookingInvariants(catalogUrl: string, bookingUrl: string, options: InvariantOptions): Promise<InvariantReport> {
  const violations: string[] = [];

  const doubles = await query<{ slot_id: string; n: number }>(
    bookingUrl,
    `SELECT slot_id, count(*)::int AS n FROM appointment WHERE status = 'booked' GROUP BY slot_id HAVING count(*) > 1`,
  );
  for (const d of doubles) violations.push(`slot ${d.slot_id} has ${d.n} booked appointments`);

  const booked = await query<{ id: string; slot_id: string }>(bookingUrl, `SELECT id, slot_id FROM appointment WHERE status = 'booked'`);
  const slotsOfBooked = await query<{ id: string; claim_id: string | null }>(catalogUrl, `SELECT id, claim_id FROM slot WHERE id = ANY($1::uuid[])`, [
    booked.map((a) => a.slot_id),
  ]);
  const claimOf = new Map(slotsOfBooked.map((s) => [s.id, s.claim_id]));
  for (const a of booked) {
    const claim = claimOf.get(a.slot_id);
    if (claim !== a.id) violations.push(`booked appointment ${a.id} does not hold slot ${a.slot_id} (claim ${claim ?? 'none'})`);
  }

  const claimed = await query<{ id: string; claim_id: string }>(catalogUrl, `SELECT id, claim_id FROM slot WHERE status = 'booked'`);
  const [{ overdue }] = await query<{ overdue: number }>(
    bookingUrl,
    `SELECT count(*)::int AS overdue FROM appointment WHERE status = 'pending' AND create_time < now() - make_interval(secs => $1::float8 / 1000)`,
    [options.graceMs],
  );
  const [{ owed }] = await query<{ owed: number }>(bookingUrl, `SELECT count(*)::int AS owed FROM slot_release WHERE done_time IS NULL`);
  const conflicts = await query<{ appointment_id: string; slot_id: string; attempts: number }>(
    bookingUrl,
    `SELECT appointment_id, slot_id, attempts FROM slot_conflict WHERE resolve_time IS NULL ORDER BY detect_time`,
  );

  const heldSlots = await query<{ id: string; claim_id: string; hold_expire_time: Date; lapsed: boolean }>(
    catalogUrl,
    `SELECT id, claim_id, hold_expire_time, hold_expire_time <= now() AS lapsed FROM slot WHERE status = 'held'`,
  );
  const heldAppointments = await query<{ id: string; slot_id: string; running: boolean }>(
    bookingUrl,
    `SELECT id, slot_id, hold_expire_time > now() AS running FROM appointment WHERE status = 'held'`,
  );
  const [{ lapsed }] = await query<{ lapsed: number }>(
    bookingUrl,
    `SELECT count(*)::int AS lapsed FROM appointment WHERE status = 'held' AND hold_expire_time < now() - make_interval(secs => $1::float8 / 1000)`,
    [options.graceMs],
  );

  if (options.settled) {
    const holders = await query<{ id: string; slot_id: string; status: string; hold_expire_time: Date | null }>(
      bookingUrl,
      `SELECT id, slot_id, status, hold_expire_time FROM appointment WHERE id = ANY($1::uuid[])`,
      [[...claimed, ...heldSlots].map((s) => s.claim_id)],
    );
    const holderOf = new Map(holders.map((h) => [h.id, h]));
    for (const slot of claimed) {
      const holder = holderOf.get(slot.claim_id);
      if (holder?.status !== 'booked' || holder.slot_id !== slot.id) {
        violations.push(`slot ${slot.id} is claimed by ${slot.claim_id}, which is ${holder ? holder.status : 'no appointment'}`);
      }
    }
    // A held slot, lapsed or not, belongs to one HELD appointment of that
    // slot (booking's unique index allows no second), with catalog's own
    // expiry: every other way out of HELD releases it (an EXPIRED or
    // CANCELLED appointment owns no slot), or another claim took it.
    for (const slot of heldSlots) {
      const holder = holderOf.get(slot.claim_id);
      if (holder?.status !== 'held' || holder.slot_id !== slot.id) {
        violations.push(`slot ${slot.id} is held${slot.lapsed ? ' (lapsed)' : ''} by ${slot.claim_id}, which is ${holder ? holder.status : 'no appointment'}`);
      } else if (+holder.hold_expire_time! !== +slot.hold_expire_time) {
        violations.push(`slot ${slot.id} is held until ${slot.hold_expire_time.toISOString()}, its appointment ${holder.id} says ${holder.hold_expire_time!.toISOString()}`);
      }
    }
    // A hold still running in booking is held in catalog. (Once lapsed, the
    // slot may have been reopened or taken before the reconciler's turn.)
    const heldSlotOf = new Map(heldSlots.map((s) => [s.id, s]));
    for (const a of heldAppointments.filter((h) => h.running)) {
      const slot = heldSlotOf.get(a.slot_id);
      if (slot?.claim_id !== a.id) violations.push(`held appointment ${a.id} does not hold slot ${a.slot_id} (${slot ? `held by ${slot.claim_id}` : 'not held'})`);
    }
    if (lapsed > 0) violations.push(`${lapsed} held appointments lapsed longer ago than the grace period`);
    // The checks above pair every booked appointment with its claimed slot,
    // but the two databases are read one after the other: an appointment
    // settled in between is counted on one side only, and passes both
    // checks. Settled, nothing moves any more, and the two counts agree.
    if (booked.length !== claimed.length) violations.push(`${booked.length} booked appointments but ${claimed.length} claimed slots`);
    if (overdue > 0) violations.push(`${overdue} pending appointments are older than the grace period`);
    if (owed > 0) violations.push(`${owed} slot releases are still owed`);
    for (const c of conflicts) {
      violations.push(`slot conflict open: booked appointment ${c.appointment_id} lost slot ${c.slot_id} to another claim (${c.attempts} attempts to claim it back)`);
    }
  }

  return {
    violations,
    bookedAppointments: booked.length,
    claimedSlots: claimed.length,
    overduePending: overdue,
    releasesOwed: owed,
    openConflicts: conflicts.length,
    heldAppointments: heldAppointments.length,
    heldSlots: heldSlots.length,
    lapsedHolds: lapsed,
  };
}
