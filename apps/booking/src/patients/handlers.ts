import type { BookingServiceService, DateMessage, Patient as PatientMessage } from '@carebook/proto/booking';
import { RequestValidator, type Handlers } from '@carebook/server';
import { isPlausibleEmail, isPlausiblePhone } from './contact';
import type { Patient } from './repo';
import type { PatientsService } from './service';

type PatientHandlers = Pick<Handlers<BookingServiceService>, 'createPatient' | 'getPatient'>;

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
  };
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
      const email = v.optionalText('patient.email', patient?.email ?? '', MAX_EMAIL_LENGTH);
      const phone = v.optionalText('patient.phone', patient?.phone ?? '', MAX_PHONE_LENGTH);
      if (!email && !phone) v.fail('patient.email', 'email or phone is required');
      if (email && v.ok('patient.email') && !isPlausibleEmail(email)) v.fail('patient.email', 'is not a plausible e-mail address');
      if (phone && v.ok('patient.phone') && !isPlausiblePhone(phone)) v.fail('patient.phone', 'is not a plausible phone number');
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
      const created = await patients.create({ displayName, email: email || null, phone: phone || null, birthDate });
      return { patient: toPatientMessage(created) };
    },

    async getPatient({ id }) {
      const v = new RequestValidator();
      const patientId = v.uuid('id', id);
      v.done();
      return { patient: toPatientMessage(await patients.get(patientId)) };
    },
  };
}
