/**
 * Hands out producer ids for InitProducerId. Ids must never repeat across restarts, or a new
 * producer could inherit an old one's sequence state; so ids are reserved in blocks whose upper
 * bound is persisted before any id of the block is given out (as Kafka's controller does).
 */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;

export interface ProducerIdStore {
  /** Durably records that ids below `end` may have been handed out. */
  saveProducerIdBlockEnd(end: bigint): Promise<void>;
}

export class ProducerIdAllocator {
  private next: bigint;
  private blockEnd: bigint;
  private readonly store: ProducerIdStore;
  private reserving: Promise<void> | null = null;

  /** `persistedBlockEnd` is the bound stored by the previous run (0 on a new cluster). */
  constructor(store: ProducerIdStore, persistedBlockEnd: bigint) {
    this.store = store;
    this.next = persistedBlockEnd;
    this.blockEnd = persistedBlockEnd;
  }

  async allocate(): Promise<bigint> {
    while (this.next >= this.blockEnd) {
      if (this.reserving === null) {
        const end = this.blockEnd + PRODUCER_ID_BLOCK_SIZE;
        this.reserving = this.store.saveProducerIdBlockEnd(end).then(
          () => {
            this.blockEnd = end;
            this.reserving = null;
          },
          (error: unknown) => {
            this.reserving = null;
            throw error;
          },
        );
      }
      await this.reserving;
    }
    const id = this.next;
    this.next += 1n;
    return id;
  }
}
