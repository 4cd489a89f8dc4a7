import { kaudit, makeEvents, postAll, receiver, stringifyList } from "./webhook.ts";
const events = makeEvents(100_000);
const rx = await receiver();
const which = process.env.WHICH ?? "kaudit";
for (let i = 0; i < 6; i++) {
  const t = performance.now(); const c = process.cpuUsage();
  const lost = which === "kaudit" ? await kaudit(rx.url, events) : (await postAll(rx.url, stringifyList(events)), 0);
  const d = process.cpuUsage(c);
  const tally = await rx.take();
  console.log(which, Math.round(performance.now() - t), "ms wall", Math.round((d.user + d.system) / 1000), "ms cpu", lost, tally.items);
}
await rx.close();
