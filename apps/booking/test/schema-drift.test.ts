import { it } from 'vitest';
import { expectServiceSchemaMatchesPrisma, type SqlOnlyObjects } from '@carebook/testing';

/** What the booking migration.sql adds beyond schema.prisma: the invariants Prisma cannot express. */
const bookingSqlOnly: SqlOnlyObjects = {
  extensions: [],
  constraints: [
    { table: 'appointment', name: 'appointment_time_order_check', type: 'check', definition: 'end_time > start_time' },
    { table: 'appointment', name: 'appointment_cancel_reason_check', type: 'check', definition: "(status = 'cancelled'::appointment_status) = (cancel_reason IS NOT NULL)" },
    { table: 'appointment', name: 'appointment_request_id_check', type: 'check', definition: 'btrim(request_id)' },
    { table: 'patient', name: 'patient_display_name_check', type: 'check', definition: 'btrim(display_name)' },
    { table: 'patient', name: 'patient_contact_check', type: 'check', definition: '(email IS NOT NULL) OR (phone IS NOT NULL)' },
    { table: 'slot_conflict', name: 'slot_conflict_resolution_check', type: 'check', definition: '(resolve_time IS NULL) = (resolution IS NULL)' },
    { table: 'appointment', name: 'appointment_cancelled_by_check', type: 'check', definition: "(cancelled_by IS NULL) OR (status = 'cancelled'::appointment_status)" },
    { table: 'appointment', name: 'appointment_event_on_status_change', type: 'constraint trigger' },
    { table: 'appointment', name: 'appointment_hold_duration_ms_check', type: 'check', definition: '(hold_duration_ms > 0) AND (hold_duration_ms <= 900000)' },
    { table: 'appointment', name: 'appointment_hold_check', type: 'check', definition: /status <> ALL .*'held'.*'expired'.*hold_expire_time IS NOT NULL.*hold_expire_time IS NULL.*hold_duration_ms IS NOT NULL/ },
    {
      table: 'appointment',
      name: 'appointment_slot_facts_check',
      type: 'check',
      definition: /num_nulls\(doctor_id, clinic_id, start_time, end_time, modality\) = 0.*= 5\) AND .*'pending'.*'failed'/,
    },
    { table: 'appointment_event', name: 'appointment_event_replaced_check', type: 'check', definition: "(type = 'rescheduled'::appointment_event_type)" },
    { table: 'appointment_event_horizon', name: 'appointment_event_horizon_one_row_check', type: 'check', definition: 'CHECK (id)' },
    { table: 'appointment_event_cursor', name: 'appointment_event_cursor_position_check', type: 'check', definition: '("position" >= 0)' },
    { table: 'consultation', name: 'consultation_validity_check', type: 'check', definition: '(valid_until > valid_from)' },
    { table: 'consultation', name: 'consultation_join_urls_check', type: 'check', definition: '(patient_join_url IS NULL) = (doctor_join_url IS NULL)' },
    { table: 'consultation', name: 'consultation_provider_room_id_check', type: 'check', definition: '(provider_room_id IS NOT NULL)' },
    { table: 'consultation', name: 'consultation_links_differ_check', type: 'check', definition: '(patient_join_url <> doctor_join_url)' },
    { table: 'consultation', name: 'consultation_last_error_check', type: 'check', definition: '(length(last_error) <= 1000)' },
  ],
  indexes: [
    {
      table: 'appointment',
      name: 'appointment_one_live_replacement_key',
      columns: ['replaces_appointment_id'],
      unique: true,
      where: "((replaces_appointment_id IS NOT NULL) AND (status = ANY (ARRAY['pending'::appointment_status, 'booked'::appointment_status])))",
    },
    {
      table: 'appointment',
      name: 'appointment_one_holder_per_slot_key',
      columns: ['slot_id'],
      unique: true,
      where: "(status = ANY (ARRAY['held'::appointment_status, 'booked'::appointment_status]))",
    },
    { table: 'appointment', name: 'appointment_held_hold_expire_time_idx', columns: ['hold_expire_time'], where: "(status = 'held'::appointment_status)" },
    { table: 'appointment', name: 'appointment_pending_create_time_idx', columns: ['create_time'], where: "(status = 'pending'::appointment_status)" },
    { table: 'slot_release', name: 'slot_release_due_idx', columns: ['next_attempt_at'], where: '(done_time IS NULL)' },
    { table: 'slot_conflict', name: 'slot_conflict_one_open_per_appointment_key', columns: ['appointment_id'], unique: true, where: '(resolve_time IS NULL)' },
    { table: 'appointment_event', name: 'appointment_event_unpositioned_seq_idx', columns: ['seq'], where: '("position" IS NULL)' },
    {
      table: 'consultation',
      name: 'consultation_due_idx',
      columns: ['next_attempt_at'],
      where: "(status = ANY (ARRAY['creating'::consultation_status, 'revoking'::consultation_status]))",
    },
  ],
};

it('the migrated booking database matches prisma/booking/schema.prisma, with the SQL-only invariants present', async () => {
  await expectServiceSchemaMatchesPrisma('booking', bookingSqlOnly);
});
