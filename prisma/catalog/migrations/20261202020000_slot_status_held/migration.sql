-- carebook:no-transaction
-- A slot can be held for a claim until an instant (ClaimSlot with
-- hold_duration; booking's HoldAppointment). A new enum value cannot be used
-- in the transaction that adds it, so it is added on its own, before the
-- migration that uses it. IF NOT EXISTS makes a re-run harmless.
ALTER TYPE "slot_status" ADD VALUE IF NOT EXISTS 'held';
