import { EventEmitter } from "node:events";
import type { Event, Sink } from "@kaudit/api";

/** A recording sink for tests; `behave` decides each call's result (and may delay it). */
export class MemorySink extends EventEmitter implements Sink {
  readonly calls: Event[][] = [];
  shutdownCalled = 0;
  behave: (events: readonly Event[], n: number) => boolean | Promise<boolean> = () => true;
  constructor(private readonly name = "memory") {
    super();
  }
  processEvents(events: readonly Event[]): boolean | Promise<boolean> {
    this.calls.push(events.map((e) => structuredClone(e)));
    return this.behave(events, this.calls.length - 1);
  }
  /** IDs received, in order. */
  ids(): string[] {
    return this.calls.flat().map((e) => e.auditID);
  }
  async shutdown(): Promise<void> {
    this.shutdownCalled++;
  }
  override toString(): string {
    return this.name;
  }
}

/** A promise with its resolver, for holding a delegate call open. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}
