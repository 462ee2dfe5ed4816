// embedded-postgres is a subpath export (@carebook/server/embedded-postgres):
// importing it installs exit hooks, which services must not carry.
export * from './config';
export * from './errors';
export * from './grpc-errors';
export * from './grpc-server';
export * from './logger';
export * from './migrate';
export * from './page-token';
export * from './periodic';
export * from './postgres-errors';
export * from './prepared-statements';
export * from './prisma';
export * from './validation';
