/**
 * The command line: `deno run --allow-net server.ts [options] [DIR]`.
 *
 * With no arguments it serves the tutorial's demo site on http://localhost:8080/. See `--help`
 * and the README for every flag; the CLI itself lives in lib/cli/.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoJson.version));
}
