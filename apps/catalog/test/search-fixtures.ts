import { CreateSlotsRequest, type CatalogClient, type Slot } from '@carebook/proto/catalog';

// Helpers of the search tests: places at known distances, local wall-clock
// times computed independently of PostgreSQL, and slot publishing.

/** The sphere of src/geo.ts; along a great circle, distance = radius × angle exactly. */
const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

export interface Point {
  latitude: number;
  longitude: number;
}

/** The point `km` from `start` along the great circle leaving it at `bearing` degrees (0 = north, 90 = east). */
export function destination(start: Point, km: number, bearing: number): Point {
  const d = km / EARTH_RADIUS_KM;
  const [phi1, lambda1, theta] = [rad(start.latitude), rad(start.longitude), rad(bearing)];
  const phi2 = Math.asin(Math.sin(phi1) * Math.cos(d) + Math.cos(phi1) * Math.sin(d) * Math.cos(theta));
  const lambda2 = lambda1 + Math.atan2(Math.sin(theta) * Math.sin(d) * Math.cos(phi1), Math.cos(d) - Math.sin(phi1) * Math.sin(phi2));
  const longitude = ((deg(lambda2) + 540) % 360) - 180;
  return { latitude: deg(phi2), longitude };
}

/** "HH:MM" of `instant` on the wall clock of `timeZone`, by ICU rather than PostgreSQL. */
export function localTime(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant);
}

/** Publishes slots of `minutes` each starting at `starts`, for the doctor at `clinicId` (default: its primary clinic). */
export async function publishSlots(client: CatalogClient, doctorId: string, starts: Date[], minutes = 30, clinicId = ''): Promise<Slot[]> {
  const slots = starts.map((startTime) => ({ startTime, endTime: new Date(+startTime + minutes * 60_000) }));
  const created: Slot[] = [];
  for (let i = 0; i < slots.length; i += 1000) {
    created.push(...(await client.createSlots(CreateSlotsRequest.fromPartial({ doctorId, clinicId, slots: slots.slice(i, i + 1000) }))).slots);
  }
  return created;
}

export const ids = (slots: { id: string }[]) => slots.map((s) => s.id);
