// Sums the vitest JSON reports of every package into the plain line CI reads.
// Exits 1 when a package that has tests wrote no report (its run crashed before reporting).
import fs from "node:fs";
import path from "node:path";

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = 0;
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
    // A suite that failed to load counts as a failure even though it ran no test.
    failed += r.testResults.filter(
      (t) => t.status === "failed" && t.assertionResults.length === 0,
    ).length;
  }
}
failed += missing;
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
