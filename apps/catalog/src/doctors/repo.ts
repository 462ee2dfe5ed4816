import type { CatalogPrisma } from '../db';
import type { Doctor } from '../generated/prisma/client';

export type { Doctor };

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
    create: (doctor: NewDoctor) => prisma.doctor.create({ data: doctor }),
    findById: (id: string) => prisma.doctor.findUnique({ where: { id } }),
    /** One page in (create_time, id) order, after the keyset position if given. */
    listPage: (filter: DoctorFilter, limit: number, after?: { createTime: Date; id: string }) =>
      prisma.doctor.findMany({
        where: {
          clinicId: filter.clinicId,
          specialty: filter.specialty,
          ...(after && { OR: [{ createTime: { gt: after.createTime } }, { createTime: after.createTime, id: { gt: after.id } }] }),
        },
        orderBy: [{ createTime: 'asc' }, { id: 'asc' }],
        take: limit,
      }),
  };
}

export type DoctorsRepo = ReturnType<typeof doctorsRepo>;
