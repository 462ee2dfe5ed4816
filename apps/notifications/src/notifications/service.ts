import { toPage, type Page, type TimeIdKey } from '@carebook/server';
import type { Notification, NotificationFilter, NotificationsRepo } from './repo';

/** What the API does with messages: list them. */
export interface NotificationsService {
  /** One page of the messages of an appointment or a patient, newest scheduled first. An id notifications has no message for gives an empty page. */
  list(filter: NotificationFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Notification>>;
}

/** The notifications service over `repo`. */
export function notificationsService(repo: NotificationsRepo): NotificationsService {
  return {
    async list(filter, pageSize, after) {
      const rows = await repo.list(filter, pageSize, after);
      return toPage(rows, pageSize, (row) => [row.scheduledTime.toISOString(), row.id]);
    },
  };
}
