import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Patient } from '@carebook/proto/booking';
import { createPatient, expectRefused } from './booking-fixtures';
import { startBookingUnderTest, type BookingUnderTest } from './harness';

let sys: BookingUnderTest;
beforeAll(async () => {
  sys = await startBookingUnderTest();
});
afterAll(() => sys?.close());

/** A valid patient with `fields` overriding it. */
const patientWith = (fields: Partial<Patient>) =>
  Patient.fromPartial({ displayName: 'Max Muster', email: 'max@example.org', phone: '', birthDate: { year: 1990, month: 5, day: 17 }, ...fields });

/** Asserts CreatePatient refuses `patient` naming `field`, writing nothing. */
const refuse = (patient: Patient | undefined, field: string) =>
  expectRefused(sys, () => sys.client.createPatient({ patient }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });

/** The UTC calendar date `days` from today. */
function utcDateInDays(days: number) {
  const d = new Date(Date.now() + days * 86_400_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

describe('CreatePatient and GetPatient', () => {
  it('creates a patient and returns it by id', async () => {
    const before = Date.now();
    const created = await createPatient(sys.client, { id: randomUUID(), displayName: '  Erika Mustermann ', email: ' erika@example.org ' });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created).toMatchObject({
      displayName: 'Erika Mustermann',
      email: 'erika@example.org',
      phone: '+49 30 1234567',
      birthDate: { year: 1984, month: 8, day: 12 },
    });
    expect(+created.createTime!).toBeGreaterThanOrEqual(before - 1000);
    const { patient } = await sys.client.getPatient({ id: created.id });
    expect(patient).toEqual(created);
    const { rows } = await sys.sql.query('SELECT display_name, email, phone, birth_date::text FROM patient WHERE id = $1', [created.id]);
    expect(rows).toEqual([{ display_name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 30 1234567', birth_date: '1984-08-12' }]);
  });

  it('ignores a client-chosen id', async () => {
    const id = randomUUID();
    const created = await createPatient(sys.client, { id });
    expect(created.id).not.toBe(id);
  });

  it('accepts a patient with only an email or only a phone', async () => {
    const emailOnly = await createPatient(sys.client, { phone: '', email: 'only.mail@example.co.uk' });
    expect(emailOnly).toMatchObject({ email: 'only.mail@example.co.uk', phone: '' });
    const phoneOnly = await createPatient(sys.client, { email: '', phone: '(030) 123-4567' });
    expect(phoneOnly).toMatchObject({ email: '', phone: '(030) 123-4567' });
    const { rows } = await sys.sql.query('SELECT email, phone FROM patient WHERE id = ANY($1) ORDER BY email NULLS FIRST', [[emailOnly.id, phoneOnly.id]]);
    expect(rows).toEqual([
      { email: null, phone: '(030) 123-4567' },
      { email: 'only.mail@example.co.uk', phone: null },
    ]);
  });

  it.each([
    { year: 2024, month: 2, day: 29 },
    { year: 1880, month: 1, day: 1 },
    utcDateInDays(0),
  ])('accepts the birth date %j', async (birthDate) => {
    const created = await createPatient(sys.client, { birthDate });
    expect(created.birthDate).toEqual(birthDate);
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    const id = randomUUID();
    const err = await expectRefused(sys, () => sys.client.getPatient({ id }), status.NOT_FOUND, { reason: 'PATIENT_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ patient_id: id });
  });

  it.each(['', 'not-a-uuid', '1234', `${randomUUID()}x`])('refuses GetPatient with the id %j', async (id) => {
    await expectRefused(sys, () => sys.client.getPatient({ id }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field: 'id' });
  });
});

describe('CreatePatient validation', () => {
  it('requires the patient', async () => {
    await refuse(undefined, 'patient');
  });

  it.each(['', '   '])('requires display_name (%j)', async (displayName) => {
    await refuse(patientWith({ displayName }), 'patient.display_name');
  });

  it('requires an email or a phone', async () => {
    await refuse(patientWith({ email: '', phone: '' }), 'patient.email');
    await refuse(patientWith({ email: '  ', phone: ' ' }), 'patient.email');
  });

  it.each(['erika', 'erika@', '@example.org', 'erika@example', 'er ika@example.org', 'erika@@example.org', 'erika@example..org', '+49 30 1234567'])(
    'refuses the email %j',
    async (email) => {
      await refuse(patientWith({ email }), 'patient.email');
    },
  );

  it.each(['12345', 'call me', '+49 30 1234567 ext. 5', '+1 234 567 890 123 456', 'erika@example.org', '030/1234567', '++49 30 1234567'])(
    'refuses the phone %j',
    async (phone) => {
      await refuse(patientWith({ email: '', phone }), 'patient.phone');
    },
  );

  it('refuses a bad phone even beside a good email', async () => {
    await refuse(patientWith({ email: 'max@example.org', phone: 'n/a' }), 'patient.phone');
  });

  it.each([
    ['February 30', { year: 1990, month: 2, day: 30 }],
    ['February 29 of a common year', { year: 2023, month: 2, day: 29 }],
    ['April 31', { year: 1990, month: 4, day: 31 }],
    ['month 13', { year: 1990, month: 13, day: 1 }],
    ['month 0 (a year and day only)', { year: 1990, month: 0, day: 17 }],
    ['day 0 (a year and month only)', { year: 1990, month: 5, day: 0 }],
    ['year 0 (a month and day only)', { year: 0, month: 5, day: 17 }],
    ['a year only', { year: 1990, month: 0, day: 0 }],
    ['an empty date', { year: 0, month: 0, day: 0 }],
    ['a negative day', { year: 1990, month: 5, day: -1 }],
    ['tomorrow', utcDateInDays(1)],
    ['next year', utcDateInDays(366)],
    ['before 1880', { year: 1700, month: 1, day: 1 }],
  ])('refuses a birth_date of %s', async (_, birthDate) => {
    await refuse(patientWith({ birthDate }), 'patient.birth_date');
  });

  it('requires birth_date', async () => {
    await refuse(patientWith({ birthDate: undefined }), 'patient.birth_date');
  });

  it('names every bad field at once', async () => {
    const err = await refuse(patientWith({ displayName: '', email: 'nope', phone: 'nope', birthDate: { year: 1990, month: 2, day: 30 } }), 'patient.email');
    expect(err.badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual([
      'patient.birth_date',
      'patient.display_name',
      'patient.email',
      'patient.phone',
    ]);
  });
});

describe('UpdatePatient', () => {
  /** Asserts UpdatePatient refuses the request with `code`, naming `field` when given, writing nothing. */
  const refuseUpdate = (request: Parameters<typeof sys.client.updatePatient>[0], code: status, field?: string) =>
    expectRefused(sys, () => sys.client.updatePatient(request), code, field ? { field } : {});

  it('creates patients with reminders on for both channels unless they say otherwise', async () => {
    expect(await createPatient(sys.client)).toMatchObject({ emailReminders: true, smsReminders: true });
    expect(await createPatient(sys.client, { smsReminders: false })).toMatchObject({ emailReminders: true, smsReminders: false });
  });

  it('changes only the fields in update_mask, in snake_case or lowerCamelCase', async () => {
    const patient = await createPatient(sys.client, { email: 'old@example.org', phone: '+49 30 1234567' });
    const { patient: updated } = await sys.client.updatePatient({
      patient: { ...patient, email: 'new@example.org', phone: '+1 212 555 0100', displayName: 'Not Changed', smsReminders: false },
      updateMask: ['email', 'smsReminders'],
    });
    expect(updated).toMatchObject({ email: 'new@example.org', phone: '+49 30 1234567', displayName: patient.displayName, smsReminders: false, emailReminders: true });
    expect(+updated!.updateTime!).toBeGreaterThan(+patient.updateTime!);
    expect((await sys.client.getPatient({ id: patient.id })).patient).toEqual(updated);
  });

  it('clears a contact given empty, and takes an unset consent in the mask as off', async () => {
    const patient = await createPatient(sys.client, { email: 'both@example.org', phone: '+49 30 7654321' });
    const { patient: updated } = await sys.client.updatePatient({ patient: { id: patient.id, email: '' } as Patient, updateMask: ['email', 'email_reminders'] });
    expect(updated).toMatchObject({ email: '', phone: '+49 30 7654321', emailReminders: false, smsReminders: true });
  });

  it('refuses to leave a patient without e-mail and phone, changing nothing', async () => {
    const patient = await createPatient(sys.client, { email: 'only@example.org', phone: '' });
    await refuseUpdate({ patient: { ...patient, email: '' }, updateMask: ['email'] }, status.INVALID_ARGUMENT, 'patient.email');
    expect((await sys.client.getPatient({ id: patient.id })).patient).toEqual(patient);
  });

  it('refuses a missing or unknown mask path, bad values and a malformed id, naming the field; an unknown patient is NOT_FOUND', async () => {
    const patient = await createPatient(sys.client);
    await refuseUpdate({ patient, updateMask: [] }, status.INVALID_ARGUMENT, 'update_mask');
    await refuseUpdate({ patient, updateMask: ['birth_date'] }, status.INVALID_ARGUMENT, 'update_mask');
    await refuseUpdate({ patient, updateMask: Array.from({ length: 17 }, () => 'email') }, status.INVALID_ARGUMENT, 'update_mask');
    await refuseUpdate({ patient: { ...patient, email: 'not an address' }, updateMask: ['email'] }, status.INVALID_ARGUMENT, 'patient.email');
    await refuseUpdate({ patient: { ...patient, phone: 'call me' }, updateMask: ['phone'] }, status.INVALID_ARGUMENT, 'patient.phone');
    await refuseUpdate({ patient: { ...patient, displayName: '  ' }, updateMask: ['display_name'] }, status.INVALID_ARGUMENT, 'patient.display_name');
    await refuseUpdate({ patient: { ...patient, id: 'nope' }, updateMask: ['email'] }, status.INVALID_ARGUMENT, 'patient.id');
    await refuseUpdate({ patient: undefined, updateMask: ['email'] }, status.INVALID_ARGUMENT, 'patient');
    await refuseUpdate({ patient: { ...patient, id: randomUUID() }, updateMask: ['*'] }, status.NOT_FOUND);
  });
});

describe('BatchGetPatients', () => {
  it('returns the patients in the order asked, a repeated id twice', async () => {
    const first = await createPatient(sys.client, { displayName: 'Batch One' });
    const second = await createPatient(sys.client, { displayName: 'Batch Two' });
    const { patients } = await sys.client.batchGetPatients({ ids: [second.id, first.id, second.id] });
    expect(patients).toEqual([second, first, second]);
  });

  it('answers NOT_FOUND naming the first unknown id', async () => {
    const known = await createPatient(sys.client, { displayName: 'Batch Three' });
    const unknown = randomUUID();
    const err = await expectRefused(sys, () => sys.client.batchGetPatients({ ids: [known.id, unknown] }), status.NOT_FOUND, { reason: 'PATIENT_NOT_FOUND' });
    expect(err.errorInfo?.metadata).toEqual({ patient_id: unknown });
  });

  it.each([
    ['no id', [], 'ids'],
    ['101 ids', Array.from({ length: 101 }, () => randomUUID()), 'ids'],
    ['a malformed id', [randomUUID(), 'nope'], 'ids[1]'],
  ])('refuses %s, naming the field', async (_, ids, field) => {
    await expectRefused(sys, () => sys.client.batchGetPatients({ ids }), status.INVALID_ARGUMENT, { reason: 'INVALID_ARGUMENT', field });
  });
});
