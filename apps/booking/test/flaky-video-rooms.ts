import type { ProviderOutcome, Room, VideoRoomProvider } from '../src/consultations/video-room-provider';
import { TEST_VIDEO_ROOMS } from './harness';

// A video provider behind the same port as the real one, for the tests of a
// provider's failures: it fails the next N calls of a kind (retryable, or
// for good), or holds calls until released, and otherwise hands the call to
// the real Jitsi adapter. It counts every call.

type Failure = 'retryable' | 'permanent' | 'throws';

export interface FlakyVideoRooms extends VideoRoomProvider {
  /** Fails the next `count` createRoom calls so. */
  failCreates(count: number, how?: Failure): void;
  /** Fails the next `count` revokeRoom calls so. */
  failRevokes(count: number, how?: Failure): void;
  /** Holds every createRoom call from now until release(). */
  hold(): void;
  release(): void;
  /** Releases held calls and forgets the failures still to come. */
  reset(): void;
  /** Calls made so far, failed or not. */
  calls: { create: number; revoke: number };
}

export function flakyVideoRooms(real: VideoRoomProvider = TEST_VIDEO_ROOMS): FlakyVideoRooms {
  const failing = { create: [] as Failure[], revoke: [] as Failure[] };
  let held: Promise<void> | undefined;
  let release = () => {};

  async function failure<T>(kind: 'create' | 'revoke'): Promise<ProviderOutcome<T> | undefined> {
    const how = failing[kind].shift();
    if (how === 'throws') throw new Error(`the ${kind} adapter crashed`);
    if (how) return { kind: how, error: `provider: ${kind} refused (${how})` };
    return undefined;
  }

  const provider: FlakyVideoRooms = {
    calls: { create: 0, revoke: 0 },
    async createRoom(request) {
      provider.calls.create++;
      await held;
      return (await failure<Room>('create')) ?? real.createRoom(request);
    },
    async revokeRoom(providerRoomId) {
      provider.calls.revoke++;
      return (await failure<object>('revoke')) ?? real.revokeRoom(providerRoomId);
    },
    failCreates: (count, how = 'retryable') => failing.create.push(...Array<Failure>(count).fill(how)),
    failRevokes: (count, how = 'retryable') => failing.revoke.push(...Array<Failure>(count).fill(how)),
    hold() {
      held = new Promise((resolve) => (release = resolve));
    },
    release() {
      release();
      held = undefined;
    },
    reset() {
      provider.release();
      failing.create.length = 0;
      failing.revoke.length = 0;
    },
  };
  return provider;
}
