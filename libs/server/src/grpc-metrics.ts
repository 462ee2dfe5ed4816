import { InterceptingCall, status as Code, type Interceptor } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

// gRPC metrics under the names and labels of go-grpc-prometheus (and
// grpc-ecosystem/go-grpc-middleware's providers/prometheus), so dashboards
// and alerts written for them work unchanged: grpc_server_started_total,
// grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code},
// grpc_server_handling_seconds, grpc_server_msg_received_total,
// grpc_server_msg_sent_total, and the grpc_client_* siblings.

/** go-grpc-prometheus's grpc_code values: the Go names of the codes. */
const CODE_NAMES: Record<number, string> = {
  [Code.OK]: 'OK',
  [Code.CANCELLED]: 'Canceled',
  [Code.UNKNOWN]: 'Unknown',
  [Code.INVALID_ARGUMENT]: 'InvalidArgument',
  [Code.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [Code.NOT_FOUND]: 'NotFound',
  [Code.ALREADY_EXISTS]: 'AlreadyExists',
  [Code.PERMISSION_DENIED]: 'PermissionDenied',
  [Code.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [Code.FAILED_PRECONDITION]: 'FailedPrecondition',
  [Code.ABORTED]: 'Aborted',
  [Code.OUT_OF_RANGE]: 'OutOfRange',
  [Code.UNIMPLEMENTED]: 'Unimplemented',
  [Code.INTERNAL]: 'Internal',
  [Code.UNAVAILABLE]: 'Unavailable',
  [Code.DATA_LOSS]: 'DataLoss',
  [Code.UNAUTHENTICATED]: 'Unauthenticated',
};

/** Prometheus's default buckets, as go-grpc-prometheus's handling-time histograms use. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** go-grpc-prometheus's grpc_type values for the kinds of RPC carebook has. */
export type GrpcType = 'unary' | 'server_stream';

/** `/carebook.catalog.v1.CatalogService/ClaimSlot` → its service and method labels. */
function labelsOf(path: string, type: GrpcType): { grpc_service: string; grpc_method: string; grpc_type: GrpcType } {
  const [, service = '', method = ''] = path.split('/');
  return { grpc_service: service, grpc_method: method, grpc_type: type };
}

/** One side's (server or client) metric family. */
function family(registry: Registry, side: 'server' | 'client') {
  const labelNames = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
  const verb = side === 'server' ? 'started on the server' : 'started on the client';
  return {
    started: new Counter({ name: `grpc_${side}_started_total`, help: `Total number of RPCs ${verb}.`, labelNames, registers: [registry] }),
    handled: new Counter({
      name: `grpc_${side}_handled_total`,
      help: `Total number of RPCs completed on the ${side}, regardless of success or failure.`,
      labelNames: [...labelNames, 'grpc_code'],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: `grpc_${side}_handling_seconds`,
      help: `Histogram of response latency (seconds) of gRPC that had been application-level handled by the ${side}.`,
      labelNames,
      buckets: BUCKETS,
      registers: [registry],
    }),
    received: new Counter({
      name: `grpc_${side}_msg_received_total`,
      help: `Total number of RPC stream messages received on the ${side}.`,
      labelNames,
      registers: [registry],
    }),
    sent: new Counter({ name: `grpc_${side}_msg_sent_total`, help: `Total number of gRPC stream messages sent by the ${side}.`, labelNames, registers: [registry] }),
  };
}

/** Counts one call from its start: `sent` for each message of a stream, `end` with its status code. */
export interface CallMeter {
  sent(): void;
  end(code: number): void;
}

/** The server's side: a meter per handled call. */
export function grpcServerMetrics(registry: Registry): { start(path: string, type: GrpcType): CallMeter } {
  const m = family(registry, 'server');
  return {
    start(path, type) {
      const labels = labelsOf(path, type);
      m.started.inc(labels);
      m.received.inc(labels);
      const stopTimer = m.seconds.startTimer(labels);
      return {
        sent: () => m.sent.inc(labels),
        end(code) {
          stopTimer();
          if (type === 'unary' && code === Code.OK) m.sent.inc(labels);
          m.handled.inc({ ...labels, grpc_code: CODE_NAMES[code] ?? String(code) });
        },
      };
    },
  };
}

/** A grpc-js client interceptor that counts every unary call of the client under the grpc_client_* metrics. */
export function grpcClientMetrics(registry: Registry): Interceptor {
  const m = family(registry, 'client');
  return (options, nextCall) => {
    const labels = labelsOf(options.method_definition.path, options.method_definition.responseStream ? 'server_stream' : 'unary');
    m.started.inc(labels);
    const stopTimer = m.seconds.startTimer(labels);
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        // A partial listener: grpc-js passes on whatever it does not define.
        next(metadata, {
          onReceiveMessage(message, nextMessage) {
            m.received.inc(labels);
            nextMessage(message);
          },
          onReceiveStatus(status, nextStatus) {
            stopTimer();
            m.handled.inc({ ...labels, grpc_code: CODE_NAMES[status.code] ?? String(status.code) });
            nextStatus(status);
          },
        });
      },
      sendMessage(message, next) {
        m.sent.inc(labels);
        next(message);
      },
    });
  };
}
