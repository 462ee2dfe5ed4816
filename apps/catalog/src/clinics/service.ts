import { NotFoundError, toPage, type Page, type TimeIdKey } from '@carebook/server';
import type { Clinic, ClinicsRepo, NewClinic } from './repo';

const clinicKey = (c: Clinic): TimeIdKey => [c.createTime.toISOString(), c.id];

/** Business rules for clinics. */
export function clinicsService(repo: ClinicsRepo) {
  return {
    create: (clinic: NewClinic) => repo.create(clinic),

    async get(id: string): Promise<Clinic> {
      const clinic = await repo.findById(id);
      if (!clinic) throw new NotFoundError('clinic', id);
      return clinic;
    },

    async list(pageSize: number, after: TimeIdKey | undefined): Promise<Page<Clinic>> {
      return toPage(await repo.listPage(pageSize + 1, after), pageSize, clinicKey);
    },
  };
}

export type ClinicsService = ReturnType<typeof clinicsService>;
