import type { BookingPrisma } from '../db';
import type { Patient } from '../generated/prisma/client';

export type { Patient };

export interface NewPatient {
  displayName: string;
  email: string | null;
  phone: string | null;
  birthDate: Date;
}

/** Queries over the patient table. */
export function patientsRepo(prisma: BookingPrisma) {
  return {
    create: (patient: NewPatient) => prisma.patient.create({ data: patient }),
    findById: (id: string) => prisma.patient.findUnique({ where: { id } }),
  };
}

export type PatientsRepo = ReturnType<typeof patientsRepo>;
