// The catalog API: generated messages and the grpc-js service definition.
export * from './gen/carebook/catalog/v1/catalog.js';
export { LatLng } from './gen/google/type/latlng.js';
export { TimeOfDay } from './gen/google/type/timeofday.js';
export { Schedule, ScheduleException, ScheduleExceptionKind, ScheduleRule } from './gen/carebook/catalog/v1/schedule.js';
export { Modality } from './gen/carebook/catalog/v1/modality.js';
export { DayOfWeek } from './gen/google/type/dayofweek.js';
export { DateMessage } from './gen/google/type/date.js';
export { Duration } from './gen/google/protobuf/duration.js';
export { withBearerToken } from './client.js';

import { credentials, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { CatalogServiceClient } from './gen/carebook/catalog/v1/catalog.js';
import { promiseClient, type PromiseClient } from './client.js';

export type CatalogClient = PromiseClient<CatalogServiceClient>;

/** A promise-based catalog client over one long-lived channel to `address` (host:port); plaintext unless `channelCredentials` say otherwise. */
export function createCatalogClient(address: string, options: ClientOptions = {}, channelCredentials: ChannelCredentials = credentials.createInsecure()): CatalogClient {
  return promiseClient(new CatalogServiceClient(address, channelCredentials, options));
}
