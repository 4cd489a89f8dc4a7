/**
 * RFC 3339 timestamps with their nanoseconds kept: Falco's k8saudit plugin stamps each event with
 * `stageTimestamp` (Go's time.RFC3339Nano) and prints it with nine fractional digits, which a
 * JavaScript Date (milliseconds) cannot hold.
 */

/** A point in time as whole epoch seconds plus nanoseconds. */
export interface EventTime {
  /** Epoch seconds. */
  seconds: number;
  /** 0 ... 999,999,999. */
  nanos: number;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 time (`2018-10-25T13:58:49.730588Z`); undefined when it is not one. */
export function parseEventTime(text: unknown): EventTime | undefined {
  if (typeof text !== "string") return undefined;
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  let seconds =
    Date.UTC(
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    ) / 1000;
  if (Number.isNaN(seconds)) return undefined;
  if (m[9] !== undefined) {
    const offset = (Number(m[10]) * 60 + Number(m[11])) * 60;
    seconds += m[9] === "+" ? -offset : offset;
  }
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, "0"));
  return { seconds, nanos };
}

/** Milliseconds since the epoch (fractional below a millisecond). */
export function timeMs(t: EventTime): number {
  return t.seconds * 1000 + t.nanos / 1e6;
}

/** Nanoseconds since the epoch as decimal text (`jevt.rawtime`). */
export function rawTime(t: EventTime): string {
  if (t.seconds === 0) return String(t.nanos);
  return `${t.seconds}${String(t.nanos).padStart(9, "0")}`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `2018-10-25T13:58:49.730588000Z`, the time of Falco's JSON output. */
export function isoTime(t: EventTime): string {
  const d = new Date(t.seconds * 1000);
  return `${d.toISOString().slice(0, 19)}.${String(t.nanos).padStart(9, "0")}Z`;
}

/** `13:58:49.730588000`, Falco's `%evt.time` (printed in UTC here). */
export function clockTime(t: EventTime): string {
  const d = new Date(t.seconds * 1000);
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(t.nanos).padStart(9, "0")}`;
}
