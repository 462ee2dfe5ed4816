import { describe, expect, it } from 'vitest';
import { messageIdOf } from '../src/messages/message-id';

const appointmentId = '0f8c2a4e-1b7d-4c3e-9a55-2d6f0e9b1c3a';

describe('messageIdOf', () => {
  it('is an RFC 5322 msg-id naming the appointment, the kind, the reminder offset and the channel', () => {
    expect(messageIdOf(appointmentId, 'confirmation', 'email')).toBe(`<${appointmentId}.confirmation.email@notifications.carebook>`);
    expect(messageIdOf(appointmentId, 'reminder', 'sms', 86_400_000)).toBe(`<${appointmentId}.reminder.86400s.sms@notifications.carebook>`);
  });

  it('is the same for the same inputs and differs when any of them does', () => {
    const ids = [
      messageIdOf(appointmentId, 'reminder', 'email', 3_600_000),
      messageIdOf(appointmentId, 'reminder', 'email', 86_400_000),
      messageIdOf(appointmentId, 'reminder', 'sms', 3_600_000),
      messageIdOf(appointmentId, 'cancellation', 'email'),
      messageIdOf(appointmentId.replace('0f8c', '1f8c'), 'reminder', 'email', 3_600_000),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(messageIdOf(appointmentId, 'reminder', 'email', 3_600_000)).toBe(ids[0]);
  });

  it('refuses what would not make a valid or stable id', () => {
    expect(() => messageIdOf('a>b@c', 'confirmation', 'email')).toThrow(RangeError);
    expect(() => messageIdOf(appointmentId, 'reminder', 'email', 1500)).toThrow(RangeError);
    expect(() => messageIdOf(appointmentId, 'reminder', 'email', -1000)).toThrow(RangeError);
  });
});
