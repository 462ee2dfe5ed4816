export * from './databases';
export * from './grpc-assertions';
export * from './ports';
