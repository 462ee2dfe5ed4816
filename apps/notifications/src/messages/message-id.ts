import type { Channel } from '../channels/port';
import type { NotificationKind } from './facts';

// The Message-ID's domain: ours, and never a real host, so no id can clash
// with one another system makes.
const DOMAIN = 'notifications.carebook';

// RFC 5322's id-left is a dot-atom; an appointment id (a UUID) is one.
const ATOM = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The RFC 5322 Message-ID of one message: the same inputs always give the
 * same id, so a message sent again after a crash carries the id of the first
 * attempt and a mail server, a gateway or the patient's client can tell it is
 * a duplicate. `<{appointmentId}.{kind}[.{offsetSeconds}s].{channel}@notifications.carebook>`,
 * the offset naming which reminder it is. Throws RangeError for an
 * appointment id that is not an atom or an offset that is not whole seconds.
 */
export function messageIdOf(appointmentId: string, kind: NotificationKind, channel: Channel, reminderOffsetMs?: number): string {
  if (!ATOM.test(appointmentId)) throw new RangeError('appointment id must be letters, digits and hyphens, at most 64');
  const parts = [appointmentId, kind];
  if (reminderOffsetMs !== undefined) {
    if (!Number.isSafeInteger(reminderOffsetMs) || reminderOffsetMs < 0 || reminderOffsetMs % 1000 !== 0) {
      throw new RangeError(`reminder offset must be whole seconds, got ${reminderOffsetMs} ms`);
    }
    parts.push(`${reminderOffsetMs / 1000}s`);
  }
  parts.push(channel);
  return `<${parts.join('.')}@${DOMAIN}>`;
}
