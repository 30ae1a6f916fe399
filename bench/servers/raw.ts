/**
 * The physical limit: a `Deno.listen` loop that parses nothing (servers/raw_loop.ts).
 * `deno run servers/raw.ts PORT [close]`; `close` answers with `connection: close` and hangs up,
 * the mode the new-connection shape needs.
 *
 * @module
 */

import { exitOnSignals, parseServerArgs } from "./args.ts";
import { serveRaw } from "./raw_loop.ts";

const { port, extra } = parseServerArgs(Deno.args);
exitOnSignals();
const closeAfterReply = extra === "close";

const listener = Deno.listen({ hostname: "127.0.0.1", port });
for await (const conn of listener) {
  conn.setNoDelay(true);
  serveRaw(conn, closeAfterReply);
}
