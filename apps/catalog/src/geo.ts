import { Prisma } from './generated/prisma/client';

/** Mean Earth radius (IUGG), the sphere distances are measured on. */
export const EARTH_RADIUS_KM = 6371.0088;

/** A circle on the Earth: centre in degrees, radius in kilometres. */
export interface Near {
  latitude: number;
  longitude: number;
  radiusKm: number;
}

/** Inclusive ranges of degrees that contain the whole circle; longitude may take two ranges across ±180°. */
export interface BoundingBox {
  latitude: [number, number];
  longitude: [number, number][];
}

// Widens the box by a hair, so points on the circle itself are decided by the
// exact distance, not by rounding in the box.
const MARGIN_DEGREES = 1e-9;
const degrees = (radians: number) => (radians * 180) / Math.PI;
const radians = (deg: number) => (deg * Math.PI) / 180;

/**
 * The smallest latitude/longitude box around the circle (J. P. Matuschek,
 * "Finding points within a distance of a latitude/longitude using bounding
 * coordinates"). If the circle holds a pole, every longitude is in the box.
 */
export function boundingBox({ latitude, longitude, radiusKm }: Near): BoundingBox {
  const angular = radiusKm / EARTH_RADIUS_KM;
  const dLat = degrees(angular) + MARGIN_DEGREES;
  const latMin = latitude - dLat;
  const latMax = latitude + dLat;
  const sinRatio = Math.sin(angular) / Math.cos(radians(latitude));
  if (latMin <= -90 || latMax >= 90 || sinRatio >= 1) {
    return { latitude: [Math.max(latMin, -90), Math.min(latMax, 90)], longitude: [[-180, 180]] };
  }
  const dLng = degrees(Math.asin(sinRatio)) + MARGIN_DEGREES;
  const lngMin = longitude - dLng;
  const lngMax = longitude + dLng;
  const lngRanges: [number, number][] =
    lngMin < -180 ? [[lngMin + 360, 180], [-180, lngMax]] : lngMax > 180 ? [[lngMin, 180], [-180, lngMax - 360]] : [[lngMin, lngMax]];
  return { latitude: [latMin, latMax], longitude: lngRanges };
}

/** Great-circle distance in km by the haversine formula; the same arithmetic as `withinSql`. */
export function distanceKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const h =
    Math.sin(radians(b.latitude - a.latitude) / 2) ** 2 +
    Math.cos(radians(a.latitude)) * Math.cos(radians(b.latitude)) * Math.sin(radians(b.longitude - a.longitude) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * SQL condition: the clinic row `alias` has a location within the circle.
 * The box lets an index on (latitude, longitude) narrow the rows; the
 * haversine distance then decides. A clinic without a location never matches
 * (NULL comparisons are not true).
 */
export function withinSql(alias: string, near: Near): Prisma.Sql {
  const c = Prisma.raw(alias);
  const box = boundingBox(near);
  const lng = box.longitude.map(([lo, hi]) => Prisma.sql`${c}.longitude BETWEEN ${lo}::float8 AND ${hi}::float8`);
  const lat = Prisma.sql`${near.latitude}::float8`;
  const distance = Prisma.sql`2 * ${EARTH_RADIUS_KM}::float8 * asin(least(1, sqrt(
      power(sin(radians(${c}.latitude - ${lat}) / 2), 2)
      + cos(radians(${lat})) * cos(radians(${c}.latitude)) * power(sin(radians(${c}.longitude - ${near.longitude}::float8) / 2), 2))))`;
  return Prisma.sql`(${c}.latitude BETWEEN ${box.latitude[0]}::float8 AND ${box.latitude[1]}::float8
    AND (${Prisma.join(lng, ' OR ')})
    AND ${distance} <= ${near.radiusKm}::float8)`;
}

/** A point on the Earth in degrees, as google.type.LatLng carries it. */
export interface LatLng {
  latitude: number;
  longitude: number;
}

/** Problems with a point, by the name of its bad coordinate; empty when it is a valid WGS84 point. */
export function latLngViolations(point: LatLng): { latitude?: string; longitude?: string } {
  const problems: { latitude?: string; longitude?: string } = {};
  if (!Number.isFinite(point.latitude) || point.latitude < -90 || point.latitude > 90) problems.latitude = 'must be between -90 and 90 degrees';
  if (!Number.isFinite(point.longitude) || point.longitude < -180 || point.longitude > 180) problems.longitude = 'must be between -180 and 180 degrees';
  return problems;
}
