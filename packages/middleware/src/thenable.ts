/** True for a promise or any other thenable (a handler, hook or sink may answer either way). */
export function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return (
    typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function"
  );
}
