import type { NotificationServiceService } from '@carebook/proto/notifications';
import type { AccessTable } from '@carebook/server';

/**
 * Who may call each of notifications' RPCs: the one place this is decided.
 * ListNotifications is for support staff's tools, open to any caller the
 * transport admits, like booking's reads.
 */
export const NOTIFICATIONS_ACCESS: AccessTable<typeof NotificationServiceService> = {
  listNotifications: 'authenticated',
};
