import type { FollowItem, LogFollower, SourceReport } from "@kaudit/sources";
import type { WatchMetrics } from "./metrics";
import type { InputItem, WatchInput } from "./watcher";

/** A `reason` of the follower as a metric label word: `too long` → `follower_too_long`. */
function reasonLabel(reason: string): string {
  return `follower_${reason.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
}

/** `file:line:col: message`, the parts that are known. */
function where(p: {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
}): string {
  return p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
}

/**
 * Counts a follower's drops by reason, its rotations and truncations
 * (`kaudit_follower_rotations_total`) and, at each scrape, the offset read up to
 * (`kaudit_follower_position_bytes`, from `offset()`).
 */
export function followerMetrics(
  follower: LogFollower,
  name: string,
  m: WatchMetrics,
  offset: () => number,
): void {
  follower.on("drop", (r: SourceReport) => m.dropped(reasonLabel(r.reason), r.count));
  const seen = { rotations: 0 };
  m.onCollect(() => {
    const s = follower.stats;
    // Each file the follower moved past: seen renamed, truncated, or read as a backup it
    // found already rotated (several rotations between two looks, or during a restart).
    const rotations = s.rotations + s.truncations + s.backupsRead;
    if (rotations > seen.rotations) m.followerRotated(name, rotations - seen.rotations);
    seen.rotations = rotations;
    m.followerPosition(name, offset());
  });
}

/** `file:line:col: message` of a follower's problem. */
export function problemText(p: {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  message: string;
}): string {
  return `${where(p)}: ${p.message}`;
}

/**
 * A `followLog` follower of `@kaudit/sources` as a watcher input (named `file:<path>` unless
 * `name` is given). The follower acknowledges an item when the watcher asks for the next one —
 * after the item was evaluated and its alerts queued — and `stop()` closes it, which saves the
 * position. With `metrics`: the offset read up to (`kaudit_follower_position_bytes`), rotations
 * and truncations (`kaudit_follower_rotations_total`), lines dropped by reason.
 */
export function followInput(
  follower: LogFollower,
  options: { name: string; metrics?: WatchMetrics | undefined },
): WatchInput {
  const name = options.name;
  let offset = 0;
  if (options.metrics) followerMetrics(follower, name, options.metrics, () => offset);
  async function* items(): AsyncGenerator<InputItem> {
    for await (const item of follower as AsyncIterable<FollowItem>) {
      offset = item.position.offset;
      if ("problem" in item) {
        yield { problem: { message: problemText(item.problem) } };
      } else yield { event: item.event };
    }
  }
  return { name, items: items(), stop: () => follower.close() };
}
