import { AppointmentEventType, type Appointment, type AppointmentEvent } from '@carebook/proto/booking';
import type { NotificationKind } from '../messages/facts';

// What one feed event does to the messages, decided without I/O: which
// appointment's scheduled messages to skip, and which messages to schedule.

/** Why a message was not sent (Notification.skip_reason). */
export type SkipReason =
  | 'APPOINTMENT_NOT_BOOKED'
  | 'APPOINTMENT_MOVED'
  | 'APPOINTMENT_CANCELLED'
  | 'APPOINTMENT_STARTED'
  | 'NO_CONTACT'
  | 'NO_CONSENT'
  | 'CHANNEL_DISABLED';

/** One message to schedule: its kind, and for a reminder how long before the start. */
export interface PlannedMessage {
  kind: NotificationKind;
  reminderOffsetMs: number | null;
}

/** The messages of one appointment to schedule, on every channel. */
export interface ScheduleStep {
  appointmentId: string;
  patientId: string;
  startTime: Date;
  /** Reschedule messages only: the start it moved from. */
  previousStartTime: Date | null;
  messages: PlannedMessage[];
}

/** What an event does; an event of no use to notifications does nothing. */
export interface EventPlan {
  skip?: { appointmentId: string; reason: SkipReason };
  schedule?: ScheduleStep;
}

/** Why an event cannot be applied: the feed sent something the contract rules out. */
export class MalformedEvent extends Error {}

function snapshot(event: AppointmentEvent, appointment: Appointment | undefined, field: string): Appointment & { startTime: Date } {
  if (!appointment?.id || !appointment.patientId || !appointment.startTime) {
    throw new MalformedEvent(`event ${event.id} at position ${event.position} has no complete ${field}`);
  }
  return appointment as Appointment & { startTime: Date };
}

/** The plan of `event`, with reminders at `reminderOffsetsMs` before the start. */
export function planEvent(event: AppointmentEvent, reminderOffsetsMs: readonly number[]): EventPlan {
  const reminders: PlannedMessage[] = reminderOffsetsMs.map((offset) => ({ kind: 'reminder', reminderOffsetMs: offset }));
  const scheduleFor = (a: Appointment & { startTime: Date }, messages: PlannedMessage[], previousStartTime: Date | null = null): ScheduleStep => ({
    appointmentId: a.id,
    patientId: a.patientId,
    startTime: a.startTime,
    previousStartTime,
    messages,
  });
  switch (event.type) {
    case AppointmentEventType.APPOINTMENT_EVENT_TYPE_BOOKED: {
      const booked = snapshot(event, event.appointment, 'appointment');
      return { schedule: scheduleFor(booked, [{ kind: 'confirmation', reminderOffsetMs: null }, ...reminders]) };
    }
    case AppointmentEventType.APPOINTMENT_EVENT_TYPE_CANCELLED: {
      const cancelled = snapshot(event, event.appointment, 'appointment');
      return {
        skip: { appointmentId: cancelled.id, reason: 'APPOINTMENT_CANCELLED' },
        schedule: scheduleFor(cancelled, [{ kind: 'cancellation', reminderOffsetMs: null }]),
      };
    }
    case AppointmentEventType.APPOINTMENT_EVENT_TYPE_RESCHEDULED: {
      const moved = snapshot(event, event.appointment, 'appointment');
      const old = snapshot(event, event.replacedAppointment, 'replaced_appointment');
      return {
        skip: { appointmentId: old.id, reason: 'APPOINTMENT_MOVED' },
        schedule: scheduleFor(moved, [{ kind: 'reschedule', reminderOffsetMs: null }, ...reminders], old.startTime),
      };
    }
    default:
      // A type this build does not know (a newer booking): nothing to send for it.
      return {};
  }
}
