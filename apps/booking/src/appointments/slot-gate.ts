import type { SlotFacts } from './repo';

/**
 * What booking knows of a slot it has seen taken: its id, and its facts when
 * a claim's answer showed them (a refused claim shows none). Enough to record
 * a FAILED appointment for it, or to refuse it as started.
 */
export interface TakenSlot {
  id: string;
  facts?: SlotFacts;
}

/**
 * This process's coordination of bookings that want the same slot: the rush
 * on a popular doctor's freshly released slots.
 *
 * - While one booking of a slot is in flight here, later ones for that slot
 *   wait for it instead of each asking catalog.
 * - Once this process has seen the slot taken (its own claim won, or catalog
 *   said the slot is held), it remembers that for `memoryMs`, and bookings of
 *   the slot are answered from that memory at once.
 *
 * So 1,000 patients on 10 slots cost catalog about 10 claims per booking
 * replica, not 1,000. It is only a hint: catalog's conditional UPDATE still
 * decides every claim that is made. A slot released elsewhere is refused
 * here for at most `memoryMs` longer; a release made through this process
 * clears the memory at once (forget).
 */
export function slotGate(memoryMs: number, now: () => number = Date.now) {
  const inFlight = new Map<string, Promise<void>>();
  // Insertion order is expiry order (one lifetime for all), so expired
  // entries are always at the front.
  const taken = new Map<string, { slot: TakenSlot; until: number }>();

  function dropExpired(): void {
    for (const [id, entry] of taken) {
      if (entry.until > now()) return;
      taken.delete(id);
    }
  }

  function takenSlot(slotId: string): TakenSlot | undefined {
    dropExpired();
    return taken.get(slotId)?.slot;
  }

  return {
    /**
     * Runs `attempt` for `slotId`, passing the slot if this process knows it
     * taken. An attempt that finds no booking of the slot in flight becomes
     * the one in flight; one that finds another waits for it to end first.
     * A waiter waits once: if the attempt ahead ended without learning the
     * slot taken (catalog unreachable, say), the waiters go on together, so
     * an outage is not turned into a queue.
     */
    async turn<T>(slotId: string, attempt: (known: TakenSlot | undefined) => Promise<T>): Promise<T> {
      const known = takenSlot(slotId);
      if (known) return attempt(known);
      const ahead = inFlight.get(slotId);
      if (ahead) {
        await ahead;
        return attempt(takenSlot(slotId));
      }
      const run = attempt(undefined);
      const ended = run.then(
        () => undefined,
        () => undefined,
      );
      inFlight.set(slotId, ended);
      try {
        return await run;
      } finally {
        if (inFlight.get(slotId) === ended) inFlight.delete(slotId);
      }
    },

    /** Remembers the slot as taken (by a claim of this process or another), keeping facts already known. */
    markTaken(slot: TakenSlot): void {
      if (memoryMs <= 0) return;
      const facts = slot.facts ?? taken.get(slot.id)?.slot.facts;
      taken.delete(slot.id); // re-inserted at the back, keeping expiry order
      taken.set(slot.id, { slot: { id: slot.id, facts }, until: now() + memoryMs });
    },

    /** Forgets the slot: this process just gave it back. */
    forget(slotId: string): void {
      taken.delete(slotId);
    },
  };
}

export type SlotGate = ReturnType<typeof slotGate>;
