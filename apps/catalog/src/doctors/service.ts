import { FailedPreconditionError, inRequestOrder, NotFoundError, toPage, type Page, type TimeIdKey } from '@carebook/server';
import type { ClinicsService } from '../clinics/service';
import type { Doctor, DoctorFilter, DoctorsRepo, DoctorWithModalities, NewDoctor } from './repo';

const doctorKey = (d: Doctor): TimeIdKey => [d.createTime.toISOString(), d.id];

/** Business rules for doctors. */
export function doctorsService(repo: DoctorsRepo, clinics: ClinicsService) {
  async function get(id: string): Promise<Doctor> {
    const doctor = await repo.findById(id);
    if (!doctor) throw new NotFoundError('doctor', id);
    return doctor;
  }

  // Only the API's answers carry the modalities: the other services' reads
  // of a doctor (CreateSlots, schedule changes) need not pay for them.
  async function withModalities(doctors: Doctor[]): Promise<DoctorWithModalities[]> {
    const offered = await repo.offeredModalities(doctors.map((d) => d.id));
    return doctors.map((d) => ({ ...d, modalities: offered.get(d.id) ?? [] }));
  }

  return {
    async create(doctor: NewDoctor): Promise<DoctorWithModalities> {
      // The foreign key would refuse an unknown clinic too; asking first turns
      // that into NOT_FOUND naming the clinic. Clinics are never deleted.
      await clinics.get(doctor.clinicId);
      const [created] = await withModalities([await repo.create(doctor)]);
      return created;
    },

    get,

    /** The doctor with the modalities it offers; NOT_FOUND if unknown. */
    async getWithModalities(id: string): Promise<DoctorWithModalities> {
      const [doctor] = await withModalities([await get(id)]);
      return doctor;
    },

    /** The doctors of `ids` with their modalities, in that order; NOT_FOUND naming the first unknown one. */
    async getManyWithModalities(ids: readonly string[]): Promise<DoctorWithModalities[]> {
      const doctors = inRequestOrder('doctor', ids, await repo.findByIds(ids));
      return withModalities(doctors);
    },

    /** Links the doctor to one more clinic; a no-op if already linked. */
    async addClinic(doctorId: string, clinicId: string): Promise<DoctorWithModalities> {
      await get(doctorId);
      await clinics.get(clinicId);
      await repo.addClinic(doctorId, clinicId);
      const [doctor] = await withModalities([await get(doctorId)]);
      return doctor;
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

    async list(filter: DoctorFilter, pageSize: number, after: TimeIdKey | undefined): Promise<Page<DoctorWithModalities>> {
      const page = toPage(await repo.listPage(filter, pageSize + 1, after), pageSize, doctorKey);
      return { ...page, items: await withModalities(page.items) };
    },
  };
}

export type DoctorsService = ReturnType<typeof doctorsService>;
