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

let cachedHour = "";
let cachedHourSeconds = 0;

function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Parses an RFC 3339 time (`2018-10-25T13:58:49.730588Z`); undefined when it is not one. */
export function parseEventTime(text: unknown): EventTime | undefined {
  if (typeof text !== "string") return undefined;
  // Fast path for what kube-apiserver writes (UTC, `Z`): the date and hour are parsed once per
  // hour of log, minutes/seconds/fraction from their digits.
  const n = text.length;
  if (
    n >= 20 &&
    text.charCodeAt(n - 1) === 90 &&
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(13) === 58
  ) {
    const same = cachedHour !== "" && text.startsWith(cachedHour);
    const hour = same ? cachedHour : text.slice(0, 13);
    if (!same) {
      const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2})$/.exec(hour);
      const s = m && Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) / 1000;
      if (m !== null && s !== null && !Number.isNaN(s) && Number(m[4]) < 24 && Number(m[2]) <= 12) {
        cachedHour = hour;
        cachedHourSeconds = s;
      }
    }
    if (hour === cachedHour) {
      const min = digits(text, 14, 16);
      const sec = digits(text, 17, 19);
      let nanos = 0;
      let ok = min >= 0 && min < 60 && sec >= 0 && sec < 61;
      if (n > 20) {
        const frac = n - 21;
        ok &&= text.charCodeAt(19) === 46 && frac >= 1 && frac <= 9;
        const f = ok ? digits(text, 20, n - 1) : -1;
        ok &&= f >= 0;
        nanos = f * 10 ** (9 - frac);
      } else ok &&= n === 20;
      if (ok) return { seconds: cachedHourSeconds + min * 60 + sec, nanos };
    }
  }
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
let isoSeconds = Number.NaN;
let isoPrefix = "";
export function isoTime(t: EventTime): string {
  // Alerts of one second share the formatting of the second.
  if (t.seconds !== isoSeconds) {
    isoPrefix = new Date(t.seconds * 1000).toISOString().slice(0, 19);
    isoSeconds = t.seconds;
  }
  return `${isoPrefix}.${String(t.nanos).padStart(9, "0")}Z`;
}

/** `13:58:49.730588000`, Falco's `%evt.time` (printed in UTC here). */
export function clockTime(t: EventTime): string {
  const d = new Date(t.seconds * 1000);
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(t.nanos).padStart(9, "0")}`;
}
