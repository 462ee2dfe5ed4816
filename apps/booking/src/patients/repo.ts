import type { BookingPrisma } from '../db';
import type { Patient } from '../generated/prisma/client';

export type { Patient };

export interface NewPatient {
  displayName: string;
  email: string | null;
  phone: string | null;
  birthDate: Date;
  emailReminders: boolean;
  smsReminders: boolean;
}

/** The fields UpdatePatient may change. */
export type PatientChange = Partial<Pick<NewPatient, 'displayName' | 'email' | 'phone' | 'emailReminders' | 'smsReminders'>>;

/** Queries over the patient table. */
export function patientsRepo(prisma: BookingPrisma) {
  return {
    create: (patient: NewPatient) => prisma.patient.create({ data: patient }),
    findById: (id: string) => prisma.patient.findUnique({ where: { id } }),
    findByIds: (ids: readonly string[]) => prisma.patient.findMany({ where: { id: { in: [...ids] } } }),
    /** Applies `change`; undefined when no patient has the id. patient_contact_check refuses a patient left without contact. */
    async update(id: string, change: PatientChange): Promise<Patient | undefined> {
      const { count } = await prisma.patient.updateMany({ where: { id }, data: change });
      return count === 0 ? undefined : (await prisma.patient.findUnique({ where: { id } })) ?? undefined;
    },
  };
}

export type PatientsRepo = ReturnType<typeof patientsRepo>;
