import type { LatLng as LatLngMessage, Modality as ModalityMessage, TimeOfDay } from '@carebook/proto/catalog';
import type { RequestValidator } from '@carebook/server';
import { latLngViolations, type Near } from '../geo';
import { parseModalityFilter, type Modality } from '../modality';
import { parseTimeZone } from '../time-zones';
import type { LocalWindow } from './search-sql';

// Parsing of the search filters SearchSlots and FindNextAvailable share:
// near/radius_km, the modality and the local time-of-day window. Each bad
// field is recorded on the validator under its proto name.

/** radius_km when near is given without one. */
export const DEFAULT_RADIUS_KM = 10;
/** The widest circle: bounds the clinics (and so the index probes) one search visits. */
export const MAX_RADIUS_KM = 200;

/** near and radius_km as a circle, or undefined without near. */
export function parseNear(v: RequestValidator, near: LatLngMessage | undefined, radiusKm: number): Near | undefined {
  if (!near) {
    if (radiusKm !== 0) v.fail('radius_km', 'applies only with near');
    return undefined;
  }
  const problems = latLngViolations(near);
  if (problems.latitude) v.fail('near.latitude', problems.latitude);
  if (problems.longitude) v.fail('near.longitude', problems.longitude);
  if (Number.isNaN(radiusKm) || radiusKm < 0) v.fail('radius_km', 'must be a positive number of kilometres');
  else if (radiusKm > MAX_RADIUS_KM) v.fail('radius_km', `must be at most ${MAX_RADIUS_KM}`);
  return { latitude: near.latitude, longitude: near.longitude, radiusKm: radiusKm || DEFAULT_RADIUS_KM };
}

/**
 * The modality filter, undefined for either. Video slots have no place, so a
 * search near a point finds in-person slots only, and video with near is
 * refused rather than answered with nothing.
 */
export function parseSearchModality(v: RequestValidator, request: { modality?: ModalityMessage; near?: LatLngMessage }): Modality | undefined {
  const modality = parseModalityFilter(v, 'modality', request.modality);
  if (modality === 'video' && request.near) {
    v.fail('near', 'must be unset with modality MODALITY_VIDEO: video slots have no place, so a search by distance finds in-person slots only');
  }
  return modality;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A TimeOfDay as microseconds since midnight and as a PostgreSQL time literal; undefined if out of range. */
function timeOfDay(t: TimeOfDay, allowEndOfDay: boolean): { micros: number; literal: string } | undefined {
  const { hours, minutes, seconds, nanos } = t;
  const endOfDay = hours === 24 && minutes === 0 && seconds === 0 && nanos === 0;
  if (endOfDay) return allowEndOfDay ? { micros: 24 * 3_600_000_000, literal: '24:00:00' } : undefined;
  const inRange = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
  if (!inRange(hours, 23) || !inRange(minutes, 59) || !inRange(seconds, 59) || !inRange(nanos, 999_999_999)) return undefined;
  // PostgreSQL's time keeps microseconds; slot times are whole milliseconds anyway.
  const micro = Math.floor(nanos / 1000);
  const literal = `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${micro ? `.${pad(micro, 6)}` : ''}`;
  return { micros: ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micro, literal };
}

/**
 * local_time_from, local_time_to and time_zone as a window, or undefined when
 * no bound is set. The window is half-open and may not wrap midnight.
 */
export function parseLocalWindow(
  v: RequestValidator,
  request: { localTimeFrom?: TimeOfDay; localTimeTo?: TimeOfDay; timeZone: string },
): LocalWindow | undefined {
  const timeZone = parseTimeZone(v, 'time_zone', request.timeZone, false);
  if (!request.localTimeFrom && !request.localTimeTo) {
    if (request.timeZone.trim() && v.ok('time_zone')) v.fail('time_zone', 'applies only with local_time_from or local_time_to');
    return undefined;
  }
  const from = request.localTimeFrom ? timeOfDay(request.localTimeFrom, false) : { micros: 0, literal: '00:00:00' };
  const to = request.localTimeTo ? timeOfDay(request.localTimeTo, true) : { micros: 24 * 3_600_000_000, literal: '24:00:00' };
  if (!from) v.fail('local_time_from', 'must be a time of day from 00:00 to 23:59:59.999999999');
  if (!to) v.fail('local_time_to', 'must be a time of day from 00:00 to 24:00');
  if (from && to && to.micros <= from.micros) v.fail('local_time_to', 'must be after local_time_from (the window may not wrap midnight)');
  return { from: from?.literal ?? '00:00:00', to: to?.literal ?? '24:00:00', ...(timeZone && { timeZone }) };
}
