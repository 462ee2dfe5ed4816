import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import { FEED_CHANNEL } from './repo';

/** Tells this process's watchers that the feed has grown, whichever replica's sequencer grew it. */
export interface FeedSignal {
  /** Calls `listener` each time new positions are known; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Says the feed grew (the local sequencer calls it too, without waiting for the notification's round trip). */
  grew(): void;
  close(): Promise<void>;
}

/**
 * Listens on FEED_CHANNEL on one dedicated connection and reconnects after
 * `retryMs` when it drops. While it is down, watchers still see new events
 * by their own fallback poll (feed.ts), only later.
 */
export function feedSignal(databaseUrl: string, log: Logger, retryMs = 1_000): FeedSignal {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let connected = false;

  const reconnectLater = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, retryMs);
    retry.unref();
  };

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('error', (err) => {
      if (connected) log.warn({ err: err.message }, 'feed notifications lost; watchers fall back to polling until they are back');
      connected = false;
      client = undefined;
      void next.end().catch(() => undefined);
      reconnectLater();
    });
    next.on('notification', () => emitter.emit('grew'));
    try {
      await next.connect();
      await next.query(`LISTEN ${FEED_CHANNEL}`);
      if (closed) return void (await next.end());
      client = next;
      connected = true;
      // Whatever was sequenced while not listening is caught up now.
      emitter.emit('grew');
    } catch {
      void next.end().catch(() => undefined);
      reconnectLater();
    }
  }
  void connect();

  return {
    subscribe(listener) {
      emitter.on('grew', listener);
      return () => emitter.off('grew', listener);
    },
    grew: () => emitter.emit('grew'),
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
