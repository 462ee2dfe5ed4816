import { it } from 'vitest';
import { expectServiceSchemaMatchesPrisma, type SqlOnlyObjects } from '@carebook/testing';

/** What the notifications migration.sql adds beyond schema.prisma: the invariants Prisma cannot express. */
const notificationsSqlOnly: SqlOnlyObjects = {
  extensions: [],
  constraints: [
    { table: 'feed_cursor', name: 'feed_cursor_position_check', type: 'check', definition: '("position" >= 0)' },
    { table: 'notification', name: 'notification_attempts_check', type: 'check', definition: '(length(last_error) <= 500)' },
    { table: 'notification', name: 'notification_previous_start_check', type: 'check', definition: "(kind = 'reschedule'::notification_kind) = (previous_start_time IS NOT NULL)" },
    { table: 'notification', name: 'notification_reminder_offset_check', type: 'check', definition: /scheduled_time = \(appointment_start_time - / },
    { table: 'notification', name: 'notification_sent_time_check', type: 'check', definition: "(status = 'sent'::notification_status) = (sent_time IS NOT NULL)" },
    { table: 'notification', name: 'notification_skip_reason_check', type: 'check', definition: "'CHANNEL_DISABLED'::text" },
  ],
  indexes: [
    // NULLS NOT DISTINCT: the check compares columns; the migration's comment says why.
    { table: 'notification', name: 'notification_message_key', columns: ['appointment_id', 'kind', 'channel', 'reminder_offset_ms'], unique: true },
    { table: 'notification', name: 'notification_scheduled_due_idx', columns: ['scheduled_time'], where: "(status = 'scheduled'::notification_status)" },
  ],
};

it('the migrated notifications database matches prisma/notifications/schema.prisma, with the SQL-only invariants present', async () => {
  await expectServiceSchemaMatchesPrisma('notifications', notificationsSqlOnly);
});
