// The catalog API: generated messages and the grpc-js service definition.
export * from './gen/carebook/catalog/v1/catalog.js';
export { LatLng } from './gen/google/type/latlng.js';
export { TimeOfDay } from './gen/google/type/timeofday.js';
export { Schedule, ScheduleException, ScheduleExceptionKind, ScheduleRule } from './gen/carebook/catalog/v1/schedule.js';
export { DayOfWeek } from './gen/google/type/dayofweek.js';
export { DateMessage } from './gen/google/type/date.js';
export { Duration } from './gen/google/protobuf/duration.js';
export { withBearerToken } from './client.js';

import { credentials, type ClientOptions } from '@grpc/grpc-js';
import { CatalogServiceClient } from './gen/carebook/catalog/v1/catalog.js';
import { promiseClient, type PromiseClient } from './client.js';

export type CatalogClient = PromiseClient<CatalogServiceClient>;

/** A promise-based catalog client over one long-lived channel to `address` (host:port). */
export function createCatalogClient(address: string, options: ClientOptions = {}): CatalogClient {
  return promiseClient(new CatalogServiceClient(address, credentials.createInsecure(), options));
}
