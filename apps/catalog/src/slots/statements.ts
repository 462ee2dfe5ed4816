import type { PreparedStatement } from '@carebook/server';
import { SLOT_COLUMNS } from './columns';
import { SLOT_VIEW_COLUMNS } from './search-sql';

// The statements every booking runs in catalog, prepared (libs/server prepared-statements.ts).

/**
 * A hold that has lapsed by the database's clock: the slot is open to any
 * claim, though its row still says held until the periodic pass reopens it.
 */
const LAPSED_HOLD = `s.status = 'held' AND s.hold_expire_time <= now()`;

/**
 * GetSlot: the slot `s` with its doctor's and clinic's names, and whether its
 * hold has lapsed (then it is shown as open). Values: slot id.
 */
export const NAMED_SLOT_BY_ID: PreparedStatement = {
  name: 'slot_named_by_id',
  text: `SELECT ${SLOT_VIEW_COLUMNS.text}, (${LAPSED_HOLD}) AS "holdLapsed"
    FROM slot s JOIN doctor d ON d.id = s.doctor_id JOIN clinic c ON c.id = s.clinic_id WHERE s.id = $1::uuid`,
};

// Sets the claim's deadline for the trigger slot_claim_within_deadline, which
// judges it again once the row lock is held (set_config(…, true) lasts until
// the statement's own commit). Value $3: the deadline or null.
const DEADLINE_SETTING = `(SELECT set_config('carebook.claim_deadline', coalesce($3::timestamptz::text, ''), true)) AS deadline`;
const WITHIN_DEADLINE = `($3::timestamptz IS NULL OR clock_timestamp() < $3::timestamptz)`;

// A slot that has started, by the database's clock, takes no new claim; the
// claim that holds it already may repeat itself (a retry answered again).
const NOT_STARTED_OR_OURS = `(s.start_time > now() OR s.claim_id = $2::uuid)`;

/**
 * The claim that books (see slotsRepo.claim). Values: slot id, claim id, the
 * claim's deadline or null. It wins on an open slot, on a lapsed hold of any
 * claim, and on a slot this claim holds already: a retry, or a hold turned
 * into a booking (its confirmation, whose deadline is the hold's expiry). A
 * slot that has started takes no other claim. The
 * WHERE refuses a claim already late when it meets the row; the trigger
 * judges the deadline again after any wait for the row lock.
 */
export const CLAIM: PreparedStatement = {
  name: 'slot_claim',
  text: `
    UPDATE slot s SET status = 'booked', claim_id = $2::uuid, hold_expire_time = NULL, update_time = now()
    FROM ${DEADLINE_SETTING}
    WHERE s.id = $1::uuid AND (s.status = 'open' OR s.claim_id = $2::uuid OR (${LAPSED_HOLD}))
      AND ${NOT_STARTED_OR_OURS} AND ${WITHIN_DEADLINE}
    RETURNING ${SLOT_COLUMNS.text}`,
};

// The hold's own claim still holds the slot: booked, or held and not lapsed.
const STILL_HELD_BY_CLAIM = `s.claim_id = $2::uuid AND (s.status = 'booked' OR s.hold_expire_time > now())`;

/**
 * The claim that holds until now() + $4 (see slotsRepo.claim). Values: slot
 * id, claim id, the claim's deadline or null, the hold's length in
 * milliseconds. It wins where CLAIM does; a slot this claim still holds or
 * has booked is returned as it is (a retry), and a lapsed hold of its own is
 * held afresh, as any claim could.
 */
export const HOLD: PreparedStatement = {
  name: 'slot_hold',
  text: `
    UPDATE slot s SET
      status = CASE WHEN ${STILL_HELD_BY_CLAIM} THEN s.status ELSE 'held' END,
      hold_expire_time = CASE WHEN ${STILL_HELD_BY_CLAIM} THEN s.hold_expire_time
                              ELSE now() + make_interval(secs => $4::float8 / 1000) END,
      claim_id = $2::uuid, update_time = now()
    FROM ${DEADLINE_SETTING}
    WHERE s.id = $1::uuid AND (s.status = 'open' OR s.claim_id = $2::uuid OR (${LAPSED_HOLD}))
      AND ${NOT_STARTED_OR_OURS} AND ${WITHIN_DEADLINE}
    RETURNING ${SLOT_COLUMNS.text}`,
};

/** The release, only by the claim that holds the slot (a hold or a booking). Values: slot id, claim id. */
export const RELEASE: PreparedStatement = {
  name: 'slot_release',
  text: `
    UPDATE slot s SET status = 'open', claim_id = NULL, hold_expire_time = NULL, update_time = now()
    WHERE s.id = $1::uuid AND s.claim_id = $2::uuid
    RETURNING ${SLOT_COLUMNS.text}`,
};
