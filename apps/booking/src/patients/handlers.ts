import type { BookingServiceService, DateMessage, Patient as PatientMessage } from '@carebook/proto/booking';
import { maskedFields, MAX_BATCH_GET, RequestValidator, type Handlers } from '@carebook/server';
import { isPlausibleEmail, isPlausiblePhone } from './contact';
import type { Patient, PatientChange } from './repo';
import type { PatientsService } from './service';

type PatientHandlers = Pick<Handlers<BookingServiceService>, 'createPatient' | 'getPatient' | 'batchGetPatients' | 'updatePatient'>;

const EARLIEST_BIRTH_YEAR = 1880;
// RFC 5321's limit on a path; a phone number with separators fits in 32.
const MAX_EMAIL_LENGTH = 254;
const MAX_PHONE_LENGTH = 32;

/** Patient as the API shows it. */
export function toPatientMessage(p: Patient): PatientMessage {
  return {
    id: p.id,
    displayName: p.displayName,
    email: p.email ?? '',
    phone: p.phone ?? '',
    birthDate: { year: p.birthDate.getUTCFullYear(), month: p.birthDate.getUTCMonth() + 1, day: p.birthDate.getUTCDate() },
    createTime: p.createTime,
    updateTime: p.updateTime,
    emailReminders: p.emailReminders,
    smsReminders: p.smsReminders,
  };
}

/** The update_mask paths UpdatePatient accepts, and the field each one sets. */
const UPDATABLE: Record<string, keyof PatientChange> = {
  display_name: 'displayName',
  email: 'email',
  phone: 'phone',
  email_reminders: 'emailReminders',
  sms_reminders: 'smsReminders',
};

/** An e-mail address from a request: '' clears it; otherwise it must be plausible. */
function emailOf(v: RequestValidator, value: string): string | null {
  const email = v.optionalText('patient.email', value, MAX_EMAIL_LENGTH);
  if (email && v.ok('patient.email') && !isPlausibleEmail(email)) v.fail('patient.email', 'is not a plausible e-mail address');
  return email || null;
}

/** A phone number from a request: '' clears it; otherwise it must be plausible. */
function phoneOf(v: RequestValidator, value: string): string | null {
  const phone = v.optionalText('patient.phone', value, MAX_PHONE_LENGTH);
  if (phone && v.ok('patient.phone') && !isPlausiblePhone(phone)) v.fail('patient.phone', 'is not a plausible phone number');
  return phone || null;
}

/** A google.type.Date as a UTC midnight Date, or undefined unless it is a full, real calendar date. */
function calendarDate(date: DateMessage): Date | undefined {
  const { year, month, day } = date;
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined;
  const value = new Date(Date.UTC(year, month - 1, day));
  value.setUTCFullYear(year); // Date.UTC maps years 0..99 to 19xx
  return value.getUTCMonth() === month - 1 && value.getUTCDate() === day ? value : undefined;
}

/** gRPC handlers for patients. */
export function patientHandlers(patients: PatientsService, now: () => Date = () => new Date()): PatientHandlers {
  return {
    async createPatient({ patient }) {
      const v = new RequestValidator();
      if (!patient) v.fail('patient', 'is required');
      const displayName = v.requiredText('patient.display_name', patient?.displayName ?? '');
      const email = emailOf(v, patient?.email ?? '');
      const phone = phoneOf(v, patient?.phone ?? '');
      if (!email && !phone && v.ok('patient.email') && v.ok('patient.phone')) v.fail('patient.email', 'email or phone is required');
      let birthDate = new Date(0);
      if (!patient?.birthDate) v.fail('patient.birth_date', 'is required');
      else {
        const date = calendarDate(patient.birthDate);
        if (!date) v.fail('patient.birth_date', 'is not a full calendar date');
        else if (date > now()) v.fail('patient.birth_date', 'must not be in the future');
        else if (date.getUTCFullYear() < EARLIEST_BIRTH_YEAR) v.fail('patient.birth_date', `must be after ${EARLIEST_BIRTH_YEAR}`);
        else birthDate = date;
      }
      v.done();
      // Consent to reminders is on unless the patient says otherwise.
      const created = await patients.create({
        displayName,
        email,
        phone,
        birthDate,
        emailReminders: patient?.emailReminders ?? true,
        smsReminders: patient?.smsReminders ?? true,
      });
      return { patient: toPatientMessage(created) };
    },

    async getPatient({ id }) {
      const v = new RequestValidator();
      const patientId = v.uuid('id', id);
      v.done();
      return { patient: toPatientMessage(await patients.get(patientId)) };
    },

    async batchGetPatients({ ids }) {
      const v = new RequestValidator();
      const patientIds = v.uuidList('ids', ids, MAX_BATCH_GET);
      v.done();
      return { patients: (await patients.getMany(patientIds)).map(toPatientMessage) };
    },

    async updatePatient({ patient, updateMask }) {
      const v = new RequestValidator();
      if (!patient) v.fail('patient', 'is required');
      const id = v.uuid('patient.id', patient?.id ?? '');
      if (!updateMask?.length) v.fail('update_mask', `is required: name the fields to change (${Object.keys(UPDATABLE).join(', ')}) or *`);
      const fields = maskedFields(v, updateMask ?? [], UPDATABLE);
      const change: PatientChange = {};
      for (const field of fields) {
        if (field === 'displayName') change.displayName = v.requiredText('patient.display_name', patient?.displayName ?? '');
        if (field === 'email') change.email = emailOf(v, patient?.email ?? '');
        if (field === 'phone') change.phone = phoneOf(v, patient?.phone ?? '');
        // An unset consent in the mask is a choice, not an omission: it is off.
        if (field === 'emailReminders') change.emailReminders = patient?.emailReminders ?? false;
        if (field === 'smsReminders') change.smsReminders = patient?.smsReminders ?? false;
      }
      v.done();
      return { patient: toPatientMessage(await patients.update(id, change)) };
    },
  };
}
