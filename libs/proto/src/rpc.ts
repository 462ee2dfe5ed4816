// google.rpc error model messages used in grpc-status-details-bin.
export { Status } from './gen/google/rpc/status.js';
export { BadRequest, BadRequest_FieldViolation, ErrorInfo } from './gen/google/rpc/error_details.js';
export { Any } from './gen/google/protobuf/any.js';
