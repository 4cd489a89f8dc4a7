// Sums the vitest JSON reports of every package into the plain line CI reads.
// Exits 1 when a package that has tests wrote no report (its run crashed before reporting).
import fs from "node:fs";
import path from "node:path";

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
// Each failure again, just above the summary: CI keeps only the end of a long log.
const failures = [];
for (const group of ["packages", "apps", "tools"]) {
  for (const name of fs.readdirSync(group)) {
    const dir = path.join(group, name);
    const report = path.join(dir, ".reports", "vitest.json");
    if (!fs.existsSync(report)) {
      if (fs.existsSync(path.join(dir, "package.json"))) {
        console.error(`no test report from ${dir}`);
        missing++;
      }
      continue;
    }
    const r = JSON.parse(fs.readFileSync(report, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    for (const file of r.testResults) {
      const where = path.relative(process.cwd(), file.name);
      // A suite that failed to load counts as a failure even though it ran no test.
      if (file.status === "failed" && file.assertionResults.length === 0) {
        failed++;
        failures.push(`${where}: ${firstLine(file.message)}`);
      }
      for (const t of file.assertionResults) {
        if (t.status !== "failed") continue;
        const ms = t.duration === undefined ? "" : ` (${Math.round(t.duration)} ms)`;
        failures.push(`${where} > ${t.fullName}${ms}: ${firstLine(t.failureMessages?.[0])}`);
      }
    }
  }
}
failed += missing;
for (const f of failures) console.error(`FAILED ${f}`);
// Checks that are not vitest runs (`--failed=typecheck`) count as one failure each.
for (const arg of process.argv.slice(2)) {
  const m = /^--failed=(.+)$/.exec(arg);
  if (m) {
    console.error(`${m[1]} failed`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);

function firstLine(text) {
  return (
    (text ?? "")
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim()
      .slice(0, 300) ?? ""
  );
}
