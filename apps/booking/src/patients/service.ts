import { inRequestOrder, InvalidArgumentError, NotFoundError, violates } from '@carebook/server';
import type { NewPatient, Patient, PatientChange, PatientsRepo } from './repo';

/** Business rules for patients. */
export function patientsService(repo: PatientsRepo) {
  return {
    create: (patient: NewPatient) => repo.create(patient),

    async get(id: string): Promise<Patient> {
      const patient = await repo.findById(id);
      if (!patient) throw new NotFoundError('patient', id);
      return patient;
    },

    /** The patients of `ids`, in that order; NOT_FOUND naming the first unknown one. */
    async getMany(ids: readonly string[]): Promise<Patient[]> {
      return inRequestOrder('patient', ids, await repo.findByIds(ids));
    },

    /** Changes the given fields; a patient must keep an e-mail address or a phone number. */
    async update(id: string, change: PatientChange): Promise<Patient> {
      let updated: Patient | undefined;
      try {
        updated = await repo.update(id, change);
      } catch (err) {
        if (violates(err, 'patient_contact_check')) {
          throw new InvalidArgumentError([{ field: 'patient.email', description: 'email or phone is required: the patient would be left without either' }]);
        }
        throw err;
      }
      if (!updated) throw new NotFoundError('patient', id);
      return updated;
    },
  };
}

export type PatientsService = ReturnType<typeof patientsService>;
