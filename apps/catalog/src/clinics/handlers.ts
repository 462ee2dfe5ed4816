import type { CatalogServiceService, Clinic as ClinicMessage } from '@carebook/proto/catalog';
import { decodePageToken, isTimeIdKey, RequestValidator, type Handlers } from '@carebook/server';
import { latLngViolations } from '../geo';
import { canonicalTimeZone } from '../time-zones';
import type { Clinic } from './repo';
import type { ClinicsService } from './service';

type ClinicHandlers = Pick<Handlers<CatalogServiceService>, 'createClinic' | 'getClinic' | 'listClinics'>;

/** Clinic as the API shows it. */
export function toClinicMessage(c: Clinic): ClinicMessage {
  return {
    id: c.id,
    displayName: c.displayName,
    timeZone: c.timeZone,
    address: c.address,
    createTime: c.createTime,
    updateTime: c.updateTime,
    // Both or neither, by clinic_location_check.
    location: c.latitude !== null && c.longitude !== null ? { latitude: c.latitude, longitude: c.longitude } : undefined,
  };
}

/** gRPC handlers for clinics. */
export function clinicHandlers(clinics: ClinicsService): ClinicHandlers {
  return {
    async createClinic({ clinic }) {
      const v = new RequestValidator();
      if (!clinic) v.fail('clinic', 'is required');
      const displayName = v.requiredText('clinic.display_name', clinic?.displayName ?? '');
      const address = v.requiredText('clinic.address', clinic?.address ?? '', 500);
      const rawZone = clinic?.timeZone.trim() ?? '';
      const timeZone = canonicalTimeZone(rawZone);
      if (!rawZone) v.fail('clinic.time_zone', 'is required');
      else if (!timeZone) v.fail('clinic.time_zone', `"${rawZone}" is not an IANA time zone name`);
      const location = clinic?.location;
      const problems = location ? latLngViolations(location) : {};
      if (problems.latitude) v.fail('clinic.location.latitude', problems.latitude);
      if (problems.longitude) v.fail('clinic.location.longitude', problems.longitude);
      v.done();
      const created = await clinics.create({ displayName, address, timeZone: timeZone!, latitude: location?.latitude, longitude: location?.longitude });
      return { clinic: toClinicMessage(created) };
    },

    async getClinic({ id }) {
      const v = new RequestValidator();
      const clinicId = v.uuid('id', id);
      v.done();
      return { clinic: toClinicMessage(await clinics.get(clinicId)) };
    },

    async listClinics({ pageSize, pageToken }) {
      const v = new RequestValidator();
      const size = v.pageSize('page_size', pageSize);
      v.done();
      const page = await clinics.list(size, decodePageToken(pageToken, { clinics: {} }, isTimeIdKey));
      return { clinics: page.items.map(toClinicMessage), nextPageToken: page.nextPageToken };
    },
  };
}
