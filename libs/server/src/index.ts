// embedded-postgres is a subpath export (@carebook/server/embedded-postgres):
// importing it installs exit hooks, which services must not carry.
export * from './config';
export * from './errors';
export * from './grpc-errors';
export * from './grpc-metrics';
export * from './grpc-server';
export * from './internal-credential';
export * from './logger';
export * from './metrics-server';
export * from './migrate';
export * from './outage-log';
export * from './page-token';
export * from './periodic';
export * from './service-metrics';
export * from './postgres-errors';
export * from './prepared-statements';
export * from './prisma';
export * from './request-decoding';
export * from './row-columns';
export * from './sql-statements';
export * from './tracing';
export * from './tracing-spans';
export * from './validation';
export * from './update-mask';
export * from './caller-access';
export * from './tls-config';
export * from './transport';
