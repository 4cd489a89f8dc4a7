/**
 * The worker thread of `kaudit convert --jobs N`: converts the pieces the main thread sends
 * (convert-piece.ts) and sends back their output bytes and problems (the output's buffer and the
 * piece's own transferred, not copied, so that the main thread can reuse them).
 * An entry point of its own in the build (tsup.config.ts), started by convert-pool.ts.
 */
import { parentPort } from "node:worker_threads";
import { convertPiece, type PieceRequest } from "./convert-piece";

/** A request from the pool: a piece and its id. */
export interface WorkerRequest {
  id: number;
  piece: PieceRequest;
}

/** A reply to the pool: the piece's result, or the message of what failed. */
export type WorkerReply =
  | { id: number; result: Awaited<ReturnType<typeof convertPiece>> }
  | { id: number; error: string };

const port = parentPort;
if (port !== null) {
  port.on("message", (m: WorkerRequest) => {
    convertPiece(m.piece).then(
      (result) => {
        port.postMessage({ id: m.id, result } satisfies WorkerReply, [
          result.bytes.buffer as ArrayBuffer,
          result.out.buffer as ArrayBuffer,
        ]);
      },
      (e: unknown) => {
        port.postMessage({
          id: m.id,
          error: e instanceof Error ? (e.stack ?? e.message) : String(e),
        } satisfies WorkerReply);
      },
    );
  });
}
