import { afterTimeIdKey, type TimeIdKey } from '@carebook/server';
import type { CatalogPrisma } from '../db';
import type { Prisma } from '../generated/prisma/client';
import type { Doctor as DoctorRow } from '../generated/prisma/client';

/** A doctor with every clinic they practise at: the primary clinic first, then the others in the order they were linked. */
export type Doctor = DoctorRow & { clinicIds: string[] };

// The links in the order Doctor.clinic_ids lists them.
const withLinks = {
  clinicLinks: { select: { clinicId: true }, orderBy: [{ createTime: 'asc' as const }, { clinicId: 'asc' as const }] },
} satisfies Prisma.DoctorInclude;

function toDoctor(row: DoctorRow & { clinicLinks: { clinicId: string }[] }): Doctor {
  const { clinicLinks, ...doctor } = row;
  const others = clinicLinks.map((l) => l.clinicId).filter((id) => id !== doctor.clinicId);
  return { ...doctor, clinicIds: [doctor.clinicId, ...others] };
}

export interface NewDoctor {
  clinicId: string;
  displayName: string;
  specialty: string;
}

export interface DoctorFilter {
  clinicId?: string;
  specialty?: string;
}

/** Queries over the doctor table. */
export function doctorsRepo(prisma: CatalogPrisma) {
  return {
    /** Creates the doctor with the link to its primary clinic, in one transaction. */
    create: async (doctor: NewDoctor): Promise<Doctor> =>
      toDoctor(await prisma.doctor.create({ data: { ...doctor, clinicLinks: { create: { clinicId: doctor.clinicId } } }, include: withLinks })),

    findById: async (id: string): Promise<Doctor | undefined> => {
      const row = await prisma.doctor.findUnique({ where: { id }, include: withLinks });
      return row ? toDoctor(row) : undefined;
    },

    /** Links the doctor to the clinic; true if the link is new. */
    addClinic: async (doctorId: string, clinicId: string): Promise<boolean> =>
      (await prisma.doctorClinic.createMany({ data: [{ doctorId, clinicId }], skipDuplicates: true })).count > 0,

    /** One page in (create_time, id) order, after the keyset position if given. The clinic filter matches every clinic of the doctor. */
    listPage: async (filter: DoctorFilter, limit: number, after?: TimeIdKey): Promise<Doctor[]> => {
      const rows = await prisma.doctor.findMany({
        where: {
          ...(filter.clinicId && { clinicLinks: { some: { clinicId: filter.clinicId } } }),
          specialty: filter.specialty,
          ...afterTimeIdKey('createTime', after),
        },
        orderBy: [{ createTime: 'asc' }, { id: 'asc' }],
        take: limit,
        include: withLinks,
      });
      return rows.map(toDoctor);
    },
  };
}

export type DoctorsRepo = ReturnType<typeof doctorsRepo>;
