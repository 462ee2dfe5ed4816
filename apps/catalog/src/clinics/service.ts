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
      const rows = await repo.listPage(pageSize + 1, after);
      // The fingerprint names the list, so a token of another list (say an
      // unfiltered ListDoctors, whose filters are also empty) is refused.
      return toPage(rows, pageSize, clinicKey, { clinics: {} });
    },
  };
}

export type ClinicsService = ReturnType<typeof clinicsService>;
