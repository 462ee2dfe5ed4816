// The notifications API: generated messages and the grpc-js service definition.
export * from './gen/carebook/notifications/v1/notifications.js';

import { credentials, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { NotificationServiceClient } from './gen/carebook/notifications/v1/notifications.js';
import { promiseClient, type PromiseClient } from './client.js';

export type NotificationsClient = PromiseClient<NotificationServiceClient>;

/** A promise-based notifications client over one long-lived channel to `address` (host:port); plaintext unless `channelCredentials` say otherwise. */
export function createNotificationsClient(
  address: string,
  options: ClientOptions = {},
  channelCredentials: ChannelCredentials = credentials.createInsecure(),
): NotificationsClient {
  return promiseClient(new NotificationServiceClient(address, channelCredentials, options));
}
