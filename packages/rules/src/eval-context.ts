import type { EventTime } from "./event-time";
import type { FieldArg, FieldInput, FieldSpec, FieldValue } from "./fields";

/** A field with its argument, resolved once at load; `slot` indexes the per-event cache. */
export interface FieldAccessor {
  spec: FieldSpec;
  arg: FieldArg | undefined;
  /** `ka.uri.param[command]`: the name used in output_fields. */
  key: string;
  slot: number;
}

/**
 * One event being evaluated. Field values are computed on first use and remembered for the
 * rest of the event, so forty rules asking for `ka.target.resource` read it once.
 */
export class EvalContext implements FieldInput {
  ev: Record<string, unknown> = {};
  time: EventTime = { seconds: 0, nanos: 0 };
  hasAuditId = false;
  private gen = 0;
  private stamps: Uint32Array;
  private values: FieldValue[];
  private memoStamps: Uint32Array;
  private memoValues: Uint8Array;

  constructor(
    slots: number,
    readonly timeZone: string,
    memoSlots = 0,
  ) {
    this.stamps = new Uint32Array(slots);
    this.values = new Array(slots);
    this.memoStamps = new Uint32Array(memoSlots);
    this.memoValues = new Uint8Array(memoSlots);
  }

  /** A macro's result for this event, computed once. */
  memo(slot: number, predicate: (c: EvalContext) => boolean): boolean {
    if (this.memoStamps[slot] === this.gen) return this.memoValues[slot] === 1;
    const v = predicate(this);
    this.memoStamps[slot] = this.gen;
    this.memoValues[slot] = v ? 1 : 0;
    return v;
  }

  /** Starts a new event (forgets the values of the previous one). */
  reset(ev: Record<string, unknown>, time: EventTime): void {
    this.ev = ev;
    this.time = time;
    this.hasAuditId = ev.auditID !== undefined;
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      this.stamps.fill(0);
      this.memoStamps.fill(0);
      this.gen = 1;
    }
  }

  /** The value of a field for this event (undefined when the event does not have it). */
  value(f: FieldAccessor): FieldValue {
    if (this.stamps[f.slot] === this.gen) return this.values[f.slot];
    // The plugin yields no ka.* field for JSON without an auditID.
    let v: FieldValue;
    if (f.spec.origin === "k8saudit" && !this.hasAuditId) v = undefined;
    else {
      try {
        v = f.spec.extract(this, f.arg);
      } catch {
        // A value of an unexpected shape is "not available", as the plugin treats it.
        v = undefined;
      }
    }
    if (Array.isArray(v) && v.length === 0) v = undefined;
    this.stamps[f.slot] = this.gen;
    this.values[f.slot] = v;
    return v;
  }
}
