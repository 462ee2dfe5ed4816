import {
  NotificationChannel,
  NotificationKind as KindMessage,
  NotificationStatus,
  type Notification as NotificationMessage,
  type NotificationServiceService,
} from '@carebook/proto/notifications';
import { isTimeIdKey, RequestValidator, type Handlers, type PageTokens } from '@carebook/server';
import type { Notification } from './repo';
import type { NotificationsService } from './service';

type NotificationHandlers = Handlers<NotificationServiceService>;

const channelMessage: Record<Notification['channel'], NotificationChannel> = {
  email: NotificationChannel.NOTIFICATION_CHANNEL_EMAIL,
  sms: NotificationChannel.NOTIFICATION_CHANNEL_SMS,
};
const kindMessage: Record<Notification['kind'], KindMessage> = {
  confirmation: KindMessage.NOTIFICATION_KIND_CONFIRMATION,
  reminder: KindMessage.NOTIFICATION_KIND_REMINDER,
  cancellation: KindMessage.NOTIFICATION_KIND_CANCELLATION,
  reschedule: KindMessage.NOTIFICATION_KIND_RESCHEDULE,
};
const statusMessage: Record<Notification['status'], NotificationStatus> = {
  scheduled: NotificationStatus.NOTIFICATION_STATUS_SCHEDULED,
  sent: NotificationStatus.NOTIFICATION_STATUS_SENT,
  skipped: NotificationStatus.NOTIFICATION_STATUS_SKIPPED,
  failed: NotificationStatus.NOTIFICATION_STATUS_FAILED,
};

/** Notification as the API shows it. */
export function toNotificationMessage(n: Notification): NotificationMessage {
  return {
    id: n.id,
    appointmentId: n.appointmentId,
    patientId: n.patientId,
    channel: channelMessage[n.channel],
    kind: kindMessage[n.kind],
    status: statusMessage[n.status],
    reminderOffset: n.reminderOffsetMs === null ? undefined : { seconds: Math.floor(n.reminderOffsetMs / 1000), nanos: (n.reminderOffsetMs % 1000) * 1_000_000 },
    scheduledTime: n.scheduledTime,
    sentTime: n.sentTime ?? undefined,
    skipReason: n.skipReason ?? '',
    attempts: n.attempts,
    lastError: n.lastError ?? '',
    createTime: n.createTime,
  };
}

/** gRPC handlers of NotificationService. */
export function notificationHandlers(notifications: NotificationsService, tokens: PageTokens): NotificationHandlers {
  return {
    async listNotifications(request) {
      const v = new RequestValidator();
      const filter = {
        appointmentId: v.optionalUuid('appointment_id', request.appointmentId),
        patientId: v.optionalUuid('patient_id', request.patientId),
      };
      if (!request.appointmentId && !request.patientId) v.fail('appointment_id', 'appointment_id or patient_id is required');
      if (request.appointmentId && request.patientId) v.fail('patient_id', 'must be empty when appointment_id is given: exactly one of them is required');
      const pageSize = v.pageSize('page_size', request.pageSize);
      v.done();
      const page = await notifications.list(filter, pageSize, tokens.decode(request.pageToken, filter, isTimeIdKey));
      return { notifications: page.items.map(toNotificationMessage), nextPageToken: tokens.encode(page.next, filter) };
    },
  };
}
