import { describe, expect, it } from 'vitest';
import { slotGate, type TakenSlot } from '../src/appointments/slot-gate';

const slot = (id: string): TakenSlot => ({
  id,
  facts: {
    doctorId: 'doctor',
    clinicId: 'clinic',
    startTime: new Date('2027-01-04T09:00:00Z'),
    endTime: new Date('2027-01-04T09:20:00Z'),
    modality: 'in_person',
  },
});

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('slotGate', () => {
  it('lets one attempt per slot run; the others wait for it and then know the slot taken', async () => {
    const gate = slotGate(1_000);
    const release = deferred();
    const seen: (TakenSlot | undefined)[] = [];
    const first = gate.turn('a', async (known) => {
      seen.push(known);
      await release.promise;
      gate.markTaken(slot('a'));
      return 'first';
    });
    const waiters = Array.from({ length: 5 }, (_, i) =>
      gate.turn('a', async (known) => {
        seen.push(known);
        return `waiter ${i}`;
      }),
    );
    const otherSlot = gate.turn('b', async (known) => (known ? 'b known' : 'b asked'));

    expect(await otherSlot).toBe('b asked'); // another slot is not held up
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([undefined]); // the waiters have not run yet
    release.resolve();
    expect(await first).toBe('first');
    expect(await Promise.all(waiters)).toHaveLength(5);
    expect(seen).toEqual([undefined, ...Array.from({ length: 5 }, () => slot('a'))]);
  });

  it('lets the waiters go on together when the attempt ahead ended without learning the slot taken', async () => {
    const gate = slotGate(1_000);
    const release = deferred();
    const first = gate.turn('a', async () => {
      await release.promise;
      throw new Error('catalog unavailable');
    });
    let running = 0;
    let mostAtOnce = 0;
    const waiters = Array.from({ length: 4 }, () =>
      gate.turn('a', async (known) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return known;
      }),
    );
    release.resolve();
    await expect(first).rejects.toThrow('catalog unavailable');
    expect(await Promise.all(waiters)).toEqual([undefined, undefined, undefined, undefined]);
    expect(mostAtOnce).toBe(4);
  });

  it('remembers a taken slot for memoryMs only, and forgets it on release', async () => {
    let clock = 0;
    const gate = slotGate(1_000, () => clock);
    const knownOf = (id: string) => gate.turn(id, async (known) => known?.id);

    gate.markTaken(slot('a'));
    gate.markTaken(slot('b'));
    clock = 999;
    expect(await knownOf('a')).toBe('a');
    gate.markTaken(slot('b')); // seen taken again: remembered anew
    clock = 1_000;
    expect(await knownOf('a')).toBeUndefined();
    expect(await knownOf('b')).toBe('b');
    gate.forget('b');
    expect(await knownOf('b')).toBeUndefined();
  });

  it("keeps a slot's facts when it is seen taken again by a refused claim, which shows none", async () => {
    const gate = slotGate(1_000, () => 0);
    gate.markTaken(slot('a'));
    gate.markTaken({ id: 'a' });
    gate.markTaken({ id: 'b' });
    expect(await gate.turn('a', async (known) => known)).toEqual(slot('a'));
    expect(await gate.turn('b', async (known) => known)).toEqual({ id: 'b', facts: undefined });
  });

  it('remembers nothing with memoryMs 0', async () => {
    const gate = slotGate(0);
    gate.markTaken(slot('a'));
    expect(await gate.turn('a', async (known) => known)).toBeUndefined();
  });
});
