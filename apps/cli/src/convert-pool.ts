import { Worker } from "node:worker_threads";
import type { PieceConverter } from "./convert-parallel";
import type { PieceRequest, PieceResult } from "./convert-piece";
import type { WorkerReply, WorkerRequest } from "./convert-worker";

interface Waiting {
  resolve: (r: PieceResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  waiting: Map<number, Waiting>;
}

/**
 * Worker threads converting pieces of input (convert-worker.ts). Each piece goes to the worker
 * with the fewest pieces in hand; results come back as promises, which the caller awaits in
 * input order. A worker that dies fails its pieces (and the command) rather than losing them.
 */
export class PiecePool implements PieceConverter {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  /** Starts `size` workers. */
  constructor(size: number) {
    const url = new URL("./convert-worker.js", import.meta.url);
    for (let i = 0; i < size; i++) {
      // The young generation bounds a worker's RSS (test/memory.test.ts) and its GC time: at
      // 8 MB (semi-spaces of ~3 MB) converting took twice the CPU of the main thread's 16 MB
      // semi-spaces; at 32 MB it is within a few percent, for ~50 MB of RSS per worker.
      const worker = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 32 } });
      const slot: Slot = { worker, waiting: new Map() };
      const failAll = (e: Error) => {
        for (const w of slot.waiting.values()) w.reject(e);
        slot.waiting.clear();
      };
      worker.on("message", (m: WorkerReply) => {
        const w = slot.waiting.get(m.id);
        if (w === undefined) return;
        slot.waiting.delete(m.id);
        if ("error" in m) w.reject(new Error(`kaudit convert: a worker failed: ${m.error}`));
        else w.resolve(m.result);
      });
      worker.on("error", (e) => failAll(e));
      worker.on("exit", (code) => {
        if (!this.closed) failAll(new Error(`kaudit convert: a worker exited (code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  /** How many workers. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Converts a piece on the least busy worker. Its bytes and output buffer (Uint8Arrays over
   * whole ArrayBuffers of their own) are transferred, not copied, and come back in the result.
   */
  convert(piece: PieceRequest): Promise<PieceResult> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.waiting.size < slot.waiting.size) slot = s;
    const id = this.nextId++;
    const result = new Promise<PieceResult>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
      const transfer = [piece.bytes.buffer as ArrayBuffer];
      if (piece.out !== undefined) transfer.push(piece.out.buffer as ArrayBuffer);
      slot.worker.postMessage({ id, piece } satisfies WorkerRequest, transfer);
    });
    // The caller may drop a piece's result unawaited (after --strict stopped, or when it reads
    // on in order from an earlier piece): its failure must not surface as an unhandled rejection.
    result.catch(() => {});
    return result;
  }

  /** Stops every worker (pieces still in hand are dropped: the caller no longer wants them). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
