import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelOptions,
  type Client,
  type ClientOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';

/** Per-call options of a PromiseClient method. */
export interface CallSettings {
  metadata?: Metadata;
  /** Absolute deadline of the call. */
  deadline?: Date;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A ts-proto grpc-js client whose unary methods return promises. */
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends UnaryMethod<infer _Req, infer _Res> ? K : never]: C[K] extends UnaryMethod<infer Req, infer Res>
    ? (request: Req, settings?: CallSettings) => Promise<Res>
    : never;
} & { close(): void; raw: C };

/** Wraps a generated client so each unary method returns a promise. The channel stays the client's. */
export function promiseClient<C extends Client>(client: C): PromiseClient<C> {
  const wrapper: Record<string, unknown> = { close: () => client.close(), raw: client };
  const proto = Object.getPrototypeOf(client) as Record<string, unknown>;
  for (const name of Object.keys(proto)) {
    const method = proto[name];
    if (typeof method !== 'function' || name === 'constructor') continue;
    wrapper[name] = (request: unknown, settings: CallSettings = {}) =>
      new Promise((resolve, reject) => {
        (method as UnaryMethod<unknown, unknown>).call(
          client,
          request,
          settings.metadata ?? new Metadata(),
          settings.deadline ? { deadline: settings.deadline } : {},
          (error, response) => (error ? reject(error) : resolve(response)),
        );
      });
  }
  return wrapper as PromiseClient<C>;
}

/** Client options that add `authorization: Bearer <token>` to every call (catalog's internal credential). */
export function withBearerToken(token: string, options: ChannelOptions = {}): ClientOptions {
  return {
    ...options,
    interceptors: [
      (callOptions, nextCall) =>
        new InterceptingCall(nextCall(callOptions), {
          start(metadata, listener, next) {
            metadata.set('authorization', `Bearer ${token}`);
            next(metadata, listener);
          },
        }),
    ],
  };
}
