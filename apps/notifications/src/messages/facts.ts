// What a message says, gathered at send time: the appointment from booking,
// names and the clinic's address and time zone from catalog.

/** What a message is about. */
export type NotificationKind = 'confirmation' | 'reminder' | 'cancellation' | 'reschedule';

/** Everything a message shows; nothing here outlives the send. */
export interface MessageFacts {
  kind: NotificationKind;
  appointmentId: string;
  patientName: string;
  doctorName: string;
  clinicName: string;
  clinicAddress: string;
  /** IANA zone of the clinic, e.g. "Europe/Berlin": times are shown on its wall clock. */
  clinicTimeZone: string;
  startTime: Date;
  /** 'reschedule' only: when the appointment was before it moved. */
  previousStartTime?: Date;
  /** 'cancellation' only: the reason given, if any. */
  cancelReason?: string;
  /** A video appointment's room, once booking has made it: the patient's link (never the doctor's). */
  joinUrl?: string;
}
