import { FailedPreconditionError, NotFoundError, toPage, type Page, type TimeIdKey } from '@carebook/server';
import type { ClinicsService } from '../clinics/service';
import type { Doctor, DoctorFilter, DoctorsRepo, NewDoctor } from './repo';

const doctorKey = (d: Doctor): TimeIdKey => [d.createTime.toISOString(), d.id];

/** Business rules for doctors. */
export function doctorsService(repo: DoctorsRepo, clinics: ClinicsService) {
  async function get(id: string): Promise<Doctor> {
    const doctor = await repo.findById(id);
    if (!doctor) throw new NotFoundError('doctor', id);
    return doctor;
  }

  return {
    async create(doctor: NewDoctor): Promise<Doctor> {
      // The foreign key would refuse an unknown clinic too; asking first turns
      // that into NOT_FOUND naming the clinic. Clinics are never deleted.
      await clinics.get(doctor.clinicId);
      return repo.create(doctor);
    },

    get,

    /** Links the doctor to one more clinic; a no-op if already linked. */
    async addClinic(doctorId: string, clinicId: string): Promise<Doctor> {
      await get(doctorId);
      await clinics.get(clinicId);
      await repo.addClinic(doctorId, clinicId);
      return get(doctorId);
    },

    /** FAILED_PRECONDITION DOCTOR_NOT_AT_CLINIC unless `clinicId` is one of the doctor's clinics. */
    assertPractisesAt(doctor: Doctor, clinicId: string): void {
      if (doctor.clinicIds.includes(clinicId)) return;
      throw new FailedPreconditionError(
        `doctor ${doctor.id} does not practise at clinic ${clinicId}; link them with AddDoctorClinic`,
        'DOCTOR_NOT_AT_CLINIC',
        { doctor_id: doctor.id, clinic_id: clinicId },
      );
    },

    async list(filter: DoctorFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<Doctor>> {
      const rows = await repo.listPage(filter, pageSize + 1, after);
      return toPage(rows, pageSize, doctorKey);
    },
  };
}

export type DoctorsService = ReturnType<typeof doctorsService>;
