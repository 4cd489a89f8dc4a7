#!/usr/bin/env node
let mod;
try {
  mod = await import("../dist/index.js");
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist")) {
    process.stderr.write(
      "kaudit-demo: not built yet. Run `pnpm demo` from the repository root (it builds, then starts),\n" +
        "or `pnpm turbo run build --filter=kaudit-demo...` first.\n",
    );
    process.exit(1);
  }
  throw err;
}
mod.main(process.argv).catch((err) => {
  process.stderr.write(`kaudit-demo: ${err?.message ?? String(err)}\n`);
  process.exit(1);
});
