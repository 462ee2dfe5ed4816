// What each message says, on each channel.
import { describe, expect, it } from 'vitest';
import type { MessageFacts, NotificationKind } from '../src/messages/facts';
import { renderMessage } from '../src/messages/render';

const KINDS: NotificationKind[] = ['confirmation', 'reminder', 'cancellation', 'reschedule'];

const facts: MessageFacts = {
  kind: 'confirmation',
  appointmentId: '0f8c2a4e-1b7d-4c3e-9a55-2d6f0e9b1c3a',
  patientName: 'Jane Roe',
  doctorName: 'Dr Anna Weber',
  clinicName: 'Praxis Mitte',
  clinicAddress: 'Invalidenstr. 1, 10115 Berlin',
  clinicTimeZone: 'Europe/Berlin',
  startTime: new Date('2027-03-29T07:00:00Z'),
};
const START = 'Mon 29 Mar 2027, 09:00 CEST (Europe/Berlin)';
const PREVIOUS = 'Sat 27 Mar 2027, 09:00 CET (Europe/Berlin)';

function factsOf(kind: NotificationKind, more: Partial<MessageFacts> = {}): MessageFacts {
  return { ...facts, kind, ...(kind === 'reschedule' ? { previousStartTime: new Date('2027-03-27T08:00:00Z') } : {}), ...more };
}

// GSM 03.38's basic set: text of only these fits 160 characters in one SMS.
const GSM7 = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà]*$/;

describe('renderMessage by e-mail', () => {
  it.each(KINDS)('%s greets the patient and gives doctor, clinic, address, the wall-clock time and the appointment id', (kind) => {
    const { subject, text } = renderMessage(factsOf(kind), 'email');
    expect(text).toMatch(/^Hello Jane Roe,\n/);
    for (const shown of ['Dr Anna Weber', 'Praxis Mitte', 'Invalidenstr. 1, 10115 Berlin', START, facts.appointmentId]) expect(text).toContain(shown);
    expect(subject).toContain(START);
    expect(subject).not.toContain('Jane Roe');
  });

  it('says what happened', () => {
    expect(renderMessage(factsOf('confirmation'), 'email').text).toContain('is confirmed');
    expect(renderMessage(factsOf('reminder'), 'email').text).toContain('reminder');
    expect(renderMessage(factsOf('cancellation'), 'email').text).toContain('has been cancelled');
    expect(renderMessage(factsOf('reschedule'), 'email').text).toContain('moved to');
  });

  it('shows a rescheduled appointment at its new time and its previous one', () => {
    const { subject, text } = renderMessage(factsOf('reschedule'), 'email');
    expect(subject).toBe(`Appointment moved to ${START}`);
    expect(text).toMatch(new RegExp(`When: +${START.replace(/[()+]/g, '\\$&')}\n`));
    expect(text).toMatch(new RegExp(`Previously: +${PREVIOUS.replace(/[()+]/g, '\\$&')}\n`));
  });

  it('gives a cancellation reason when there is one, and no reason line otherwise', () => {
    expect(renderMessage(factsOf('cancellation', { cancelReason: 'The doctor is ill' }), 'email').text).toMatch(/Reason: +The doctor is ill\n/);
    expect(renderMessage(factsOf('cancellation'), 'email').text).not.toContain('Reason');
    expect(renderMessage(factsOf('confirmation', { cancelReason: 'stray' }), 'email').text).not.toContain('stray');
  });
});

describe('renderMessage by SMS', () => {
  it.each(KINDS)('%s names doctor, clinic, the wall-clock time and a short reference, but not the patient', (kind) => {
    const { subject, text } = renderMessage(factsOf(kind), 'sms');
    for (const shown of ['Dr Anna Weber', 'Praxis Mitte', START, 'Ref 0f8c2a4e']) expect(text).toContain(shown);
    expect(text).not.toContain('Jane');
    expect(subject).not.toContain('Jane');
    expect(text).not.toContain(facts.clinicAddress);
    expect(text.length).toBeLessThanOrEqual(160);
    expect(text).toMatch(GSM7);
  });

  it('shows a rescheduled appointment at its new time and its previous one', () => {
    const { text } = renderMessage(factsOf('reschedule'), 'sms');
    expect(text).toContain(`now ${START}; was ${PREVIOUS}`);
  });

  it('stays under 300 characters with the longest names catalog accepts', () => {
    const long = factsOf('reschedule', { doctorName: 'D'.repeat(200), clinicName: 'C'.repeat(200), clinicTimeZone: 'America/Argentina/ComodRivadavia' });
    const { text } = renderMessage(long, 'sms');
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).toContain(`${'D'.repeat(37)}...`);
    expect(text).toContain('(America/Argentina/ComodRivadavia)');
  });
});

describe('renderMessage of a video appointment', () => {
  const JOIN_URL = 'https://meet.example.org/carebook-0123456789abcdef0123456789abcdef?invite=fedcba9876543210fedcba9876543210';

  it.each(['confirmation', 'reminder', 'reschedule'] as const)("%s gives the patient's link to the room, by e-mail and by SMS", (kind) => {
    expect(renderMessage(factsOf(kind, { joinUrl: JOIN_URL }), 'email').text).toMatch(new RegExp(`Video link: +${JOIN_URL.replace(/[?.]/g, '\\$&')}\n`));
    const { text } = renderMessage(factsOf(kind, { joinUrl: JOIN_URL }), 'sms');
    expect(text.endsWith(` Join: ${JOIN_URL}`)).toBe(true);
    expect(text).toMatch(GSM7);
  });

  it('gives no link in a cancellation, and no link line without a room', () => {
    for (const channel of ['email', 'sms'] as const) {
      expect(renderMessage(factsOf('cancellation', { joinUrl: JOIN_URL }), channel).text).not.toContain(JOIN_URL);
      expect(renderMessage(factsOf('confirmation'), channel).text).not.toMatch(/Video link|Join:/);
    }
  });
});
