import { main } from "./cli";

/**
 * The `kaudit` executable: runs the command line and exits with its code once stdout and
 * stderr are flushed. A closed stdout (`kaudit convert big.log | head`) ends quietly.
 */
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2));
process.exitCode = code;
