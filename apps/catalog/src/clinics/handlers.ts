import type { CatalogServiceService, Clinic as ClinicMessage } from '@carebook/proto/catalog';
import { isTimeIdKey, RequestValidator, type Handlers, type PageTokens } from '@carebook/server';
import { latLngViolations } from '../geo';
import { parseTimeZone } from '../time-zones';
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
export function clinicHandlers(clinics: ClinicsService, tokens: PageTokens): ClinicHandlers {
  return {
    async createClinic({ clinic }) {
      const v = new RequestValidator();
      if (!clinic) v.fail('clinic', 'is required');
      const displayName = v.requiredText('clinic.display_name', clinic?.displayName ?? '');
      const address = v.requiredText('clinic.address', clinic?.address ?? '', 500);
      const timeZone = parseTimeZone(v, 'clinic.time_zone', clinic?.timeZone ?? '', true);
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
      // The fingerprint names the list, so a token of another list (say an
      // unfiltered ListDoctors, whose filters are also empty) is refused.
      const filters = { clinics: {} };
      const page = await clinics.list(size, tokens.decode(pageToken, filters, isTimeIdKey));
      return { clinics: page.items.map(toClinicMessage), nextPageToken: tokens.encode(page.next, filters) };
    },
  };
}
