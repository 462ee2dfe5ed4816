import type { PreparedStatement } from '@carebook/server';
import { SLOT_COLUMNS } from './columns';
import { SLOT_VIEW_COLUMNS } from './search-sql';

// The statements every booking runs in catalog, prepared (libs/server prepared-statements.ts).

/** GetSlot: the slot `s` with its doctor's and clinic's names. Values: slot id. */
export const NAMED_SLOT_BY_ID: PreparedStatement = {
  name: 'slot_named_by_id',
  text: `SELECT ${SLOT_VIEW_COLUMNS.text} FROM slot s JOIN doctor d ON d.id = s.doctor_id JOIN clinic c ON c.id = s.clinic_id WHERE s.id = $1::uuid`,
};

/**
 * The claim (see slotsRepo.claim). Values: slot id, claim id, the claim's
 * deadline or null. The WHERE refuses a claim already late when it meets the
 * row; the trigger slot_claim_within_deadline judges the deadline again once
 * the row lock is held, from the transaction-local setting this statement
 * sets (set_config(…, true) lasts until the statement's own commit).
 */
export const CLAIM: PreparedStatement = {
  name: 'slot_claim',
  text: `
    UPDATE slot s SET status = 'booked', claim_id = $2::uuid, update_time = now()
    FROM (SELECT set_config('carebook.claim_deadline', coalesce($3::timestamptz::text, ''), true)) AS deadline
    WHERE s.id = $1::uuid AND (s.status = 'open' OR s.claim_id = $2::uuid)
      AND ($3::timestamptz IS NULL OR clock_timestamp() < $3::timestamptz)
    RETURNING ${SLOT_COLUMNS.text}`,
};

/** The release, only by the claim that holds the slot. Values: slot id, claim id. */
export const RELEASE: PreparedStatement = {
  name: 'slot_release',
  text: `
    UPDATE slot s SET status = 'open', claim_id = NULL, update_time = now()
    WHERE s.id = $1::uuid AND s.claim_id = $2::uuid
    RETURNING ${SLOT_COLUMNS.text}`,
};
