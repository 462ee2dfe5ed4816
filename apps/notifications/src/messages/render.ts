// The words of each message, in plain text. A message says what happened,
// with whom, where and when, and nothing more: no specialty, no visit reason.
// An SMS leaves out the patient's name (the log adapter writes SMS text to
// the log) and keeps to one 160-character GSM-7 segment where it can, so it
// uses only GSM-7 characters of its own; a video appointment's link makes it
// longer. The link is the patient's own, a secret like the message itself.
import type { Channel } from '../channels/port';
import type { MessageFacts, NotificationKind } from './facts';
import { wallClock } from './wall-clock';

/** A message's subject and body; an SMS has a subject only for the log and the record. */
export interface RenderedMessage {
  subject: string;
  text: string;
}

// Names are up to 200 characters in catalog; in an SMS each is cut to this,
// which keeps the longest SMS under 300 characters.
const SMS_NAME_LENGTH = 40;

// An appointment id's first characters: enough for a patient to quote.
const SMS_REFERENCE_LENGTH = 8;

const SUBJECTS: Record<NotificationKind, (when: string) => string> = {
  confirmation: (when) => `Appointment confirmed: ${when}`,
  reminder: (when) => `Reminder: appointment on ${when}`,
  cancellation: (when) => `Appointment cancelled: ${when}`,
  reschedule: (when) => `Appointment moved to ${when}`,
};

const EMAIL_LEADS: Record<NotificationKind, string> = {
  confirmation: 'Your appointment is confirmed.',
  reminder: 'This is a reminder of your upcoming appointment.',
  cancellation: 'Your appointment has been cancelled.',
  reschedule: 'Your appointment has been moved to a new time.',
};

function clip(name: string, length: number): string {
  const chars = Array.from(name);
  return chars.length <= length ? name : `${chars.slice(0, length - 3).join('')}...`;
}

/** "Label:   value" lines, the values aligned. */
function fieldLines(fields: [string, string | undefined][]): string[] {
  const present = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const width = Math.max(...present.map(([label]) => label.length)) + 2;
  return present.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
}

function emailText(facts: MessageFacts, when: string, previously: string | undefined): string {
  const fields = fieldLines([
    ['When', when],
    ['Previously', previously],
    ['Doctor', facts.doctorName],
    ['Clinic', facts.clinicName],
    ['Address', facts.clinicAddress],
    ['Reason', facts.kind === 'cancellation' ? facts.cancelReason : undefined],
    ['Video link', facts.kind === 'cancellation' ? undefined : facts.joinUrl],
  ]);
  return [`Hello ${facts.patientName},`, '', EMAIL_LEADS[facts.kind], '', ...fields, '', `Appointment reference: ${facts.appointmentId}`, ''].join('\n');
}

const SMS_HEADINGS: Record<NotificationKind, string> = {
  confirmation: 'Appointment confirmed',
  reminder: 'Appointment reminder',
  cancellation: 'Appointment cancelled',
  reschedule: 'Appointment moved',
};

function smsText(facts: MessageFacts, when: string, previously: string | undefined): string {
  const withWhom = `${clip(facts.doctorName, SMS_NAME_LENGTH)}, ${clip(facts.clinicName, SMS_NAME_LENGTH)}`;
  const time = facts.kind === 'reschedule' ? `now ${when}${previously ? `; was ${previously}` : ''}` : when;
  const link = facts.kind !== 'cancellation' && facts.joinUrl ? ` Join: ${facts.joinUrl}` : '';
  return `${SMS_HEADINGS[facts.kind]}: ${withWhom}, ${time}. Ref ${facts.appointmentId.slice(0, SMS_REFERENCE_LENGTH)}${link}`;
}

/** The subject and plain text of the message `facts` describe, on `channel`, with times on the clinic's wall clock. */
export function renderMessage(facts: MessageFacts, channel: Channel): RenderedMessage {
  const when = wallClock(facts.startTime, facts.clinicTimeZone);
  const previously = facts.kind === 'reschedule' && facts.previousStartTime ? wallClock(facts.previousStartTime, facts.clinicTimeZone) : undefined;
  return {
    subject: SUBJECTS[facts.kind](when),
    text: channel === 'email' ? emailText(facts, when, previously) : smsText(facts, when, previously),
  };
}
