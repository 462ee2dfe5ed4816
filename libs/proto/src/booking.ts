// The booking API: generated messages and the grpc-js service definition.
export * from './gen/carebook/booking/v1/booking.js';
export { DateMessage } from './gen/google/type/date.js';

import { credentials, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { BookingServiceClient } from './gen/carebook/booking/v1/booking.js';
import { promiseClient, type PromiseClient } from './client.js';

export type BookingClient = PromiseClient<BookingServiceClient>;

/** A promise-based booking client over one long-lived channel to `address` (host:port); plaintext unless `channelCredentials` say otherwise. */
export function createBookingClient(address: string, options: ClientOptions = {}, channelCredentials: ChannelCredentials = credentials.createInsecure()): BookingClient {
  return promiseClient(new BookingServiceClient(address, channelCredentials, options));
}
