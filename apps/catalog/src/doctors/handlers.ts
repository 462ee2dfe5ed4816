import type { CatalogServiceService, Doctor as DoctorMessage } from '@carebook/proto/catalog';
import { isTimeIdKey, MAX_BATCH_GET, RequestValidator, type Handlers, type PageTokens } from '@carebook/server';
import { toModalityMessage } from '../modality';
import type { DoctorWithModalities } from './repo';
import type { DoctorsService } from './service';

type DoctorHandlers = Pick<Handlers<CatalogServiceService>, 'createDoctor' | 'getDoctor' | 'batchGetDoctors' | 'listDoctors' | 'addDoctorClinic'>;

/** Doctor as the API shows it. */
export function toDoctorMessage(d: DoctorWithModalities): DoctorMessage {
  return {
    id: d.id,
    clinicId: d.clinicId,
    displayName: d.displayName,
    specialty: d.specialty,
    createTime: d.createTime,
    updateTime: d.updateTime,
    clinicIds: d.clinicIds,
    modalities: d.modalities.map(toModalityMessage),
  };
}

/** Longest specialty, as stored and as a filter. */
export const MAX_SPECIALTY_LENGTH = 100;

/** Specialties are matched case-insensitively, so they are kept in lower case. */
export function normaliseSpecialty(specialty: string): string {
  return specialty.trim().toLowerCase();
}

/** An optional specialty filter, capped and free of control characters; undefined when empty. */
export function specialtyFilter(v: RequestValidator, field: string, raw: string): string | undefined {
  return normaliseSpecialty(v.optionalText(field, raw, MAX_SPECIALTY_LENGTH)) || undefined;
}

/** gRPC handlers for doctors. */
export function doctorHandlers(doctors: DoctorsService, tokens: PageTokens): DoctorHandlers {
  return {
    async createDoctor({ doctor }) {
      const v = new RequestValidator();
      if (!doctor) v.fail('doctor', 'is required');
      const clinicId = v.uuid('doctor.clinic_id', doctor?.clinicId ?? '');
      const displayName = v.requiredText('doctor.display_name', doctor?.displayName ?? '');
      const specialty = normaliseSpecialty(v.requiredText('doctor.specialty', doctor?.specialty ?? '', MAX_SPECIALTY_LENGTH));
      v.done();
      return { doctor: toDoctorMessage(await doctors.create({ clinicId, displayName, specialty })) };
    },

    async getDoctor({ id }) {
      const v = new RequestValidator();
      const doctorId = v.uuid('id', id);
      v.done();
      return { doctor: toDoctorMessage(await doctors.getWithModalities(doctorId)) };
    },

    async batchGetDoctors({ ids }) {
      const v = new RequestValidator();
      const doctorIds = v.uuidList('ids', ids, MAX_BATCH_GET);
      v.done();
      return { doctors: (await doctors.getManyWithModalities(doctorIds)).map(toDoctorMessage) };
    },

    async listDoctors({ clinicId, specialty, pageSize, pageToken }) {
      const v = new RequestValidator();
      const filter = { clinicId: v.optionalUuid('clinic_id', clinicId), specialty: specialtyFilter(v, 'specialty', specialty) };
      const size = v.pageSize('page_size', pageSize);
      v.done();
      const page = await doctors.list(filter, size, tokens.decode(pageToken, { doctors: filter }, isTimeIdKey));
      return { doctors: page.items.map(toDoctorMessage), nextPageToken: tokens.encode(page.next, { doctors: filter }) };
    },

    async addDoctorClinic(request) {
      const v = new RequestValidator();
      const doctorId = v.uuid('doctor_id', request.doctorId);
      const clinicId = v.uuid('clinic_id', request.clinicId);
      v.done();
      return { doctor: toDoctorMessage(await doctors.addClinic(doctorId, clinicId)) };
    },
  };
}
