import { afterTimeIdKey, type TimeIdKey } from '@carebook/server';
import type { CatalogPrisma } from '../db';
import type { Clinic } from '../generated/prisma/client';

export type { Clinic };

export interface NewClinic {
  displayName: string;
  timeZone: string;
  address: string;
  /** Degrees; both or neither. */
  latitude?: number;
  longitude?: number;
}

/** Queries over the clinic table. */
export function clinicsRepo(prisma: CatalogPrisma) {
  return {
    create: (clinic: NewClinic) => prisma.clinic.create({ data: clinic }),
    findById: (id: string) => prisma.clinic.findUnique({ where: { id } }),
    /** One page in (create_time, id) order, after the keyset position if given. */
    listPage: (limit: number, after?: TimeIdKey) =>
      prisma.clinic.findMany({
        where: afterTimeIdKey('createTime', after),
        orderBy: [{ createTime: 'asc' }, { id: 'asc' }],
        take: limit,
      }),
  };
}

export type ClinicsRepo = ReturnType<typeof clinicsRepo>;
