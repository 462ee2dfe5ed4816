import { NotFoundError, toPage, type Page, type TimeIdKey } from '@carebook/server';
import type { ClinicsService } from '../clinics/service';
import type { Doctor, DoctorFilter, DoctorsRepo, NewDoctor } from './repo';

const doctorKey = (d: Doctor): TimeIdKey => [d.createTime.toISOString(), d.id];

/** Business rules for doctors. */
export function doctorsService(repo: DoctorsRepo, clinics: ClinicsService) {
  return {
    async create(doctor: NewDoctor): Promise<Doctor> {
      // The foreign key would refuse an unknown clinic too; asking first turns
      // that into NOT_FOUND naming the clinic. Clinics are never deleted.
      await clinics.get(doctor.clinicId);
      return repo.create(doctor);
    },

    async get(id: string): Promise<Doctor> {
      const doctor = await repo.findById(id);
      if (!doctor) throw new NotFoundError('doctor', id);
      return doctor;
    },

    async list(filter: DoctorFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Doctor>> {
      const rows = await repo.listPage(filter, pageSize + 1, after && { createTime: new Date(after[0]), id: after[1] });
      return toPage(rows, pageSize, doctorKey, { doctors: filter });
    },
  };
}

export type DoctorsService = ReturnType<typeof doctorsService>;
