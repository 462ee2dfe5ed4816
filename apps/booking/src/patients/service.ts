import { NotFoundError } from '@carebook/server';
import type { NewPatient, Patient, PatientsRepo } from './repo';

/** Business rules for patients. */
export function patientsService(repo: PatientsRepo) {
  return {
    create: (patient: NewPatient) => repo.create(patient),

    async get(id: string): Promise<Patient> {
      const patient = await repo.findById(id);
      if (!patient) throw new NotFoundError('patient', id);
      return patient;
    },
  };
}

export type PatientsService = ReturnType<typeof patientsService>;
