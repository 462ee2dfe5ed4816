-- carebook:no-transaction
-- Holds (HoldAppointment): an appointment is HELD while catalog holds its
-- slot, and EXPIRED once the hold lapsed unconfirmed. New enum values cannot
-- be used in the transaction that adds them, so they are added on their own,
-- before the migration that uses them. IF NOT EXISTS makes a re-run harmless.
ALTER TYPE "appointment_status" ADD VALUE IF NOT EXISTS 'held';
ALTER TYPE "appointment_status" ADD VALUE IF NOT EXISTS 'expired';
