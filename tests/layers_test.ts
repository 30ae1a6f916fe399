/**
 * The layers of lib/ (docs/architecture.md), read from the module graph `deno info` reports for
 * every module under lib/ and the entry point: no import cycles, and no layer importing one
 * above it. A check that can fail is only worth having if it does: the rules are also run on a
 * graph with an upward import and a cycle in it.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

/** Which folders each layer may import from (its own always). */
const ALLOWED: Record<string, string[]> = {
  // The protocols, without I/O: nothing outside themselves.
  "lib/h1/": [],
  "lib/ws/": [],
  "lib/h2/": [],
  // Types and seams several layers share.
  "lib/shared/": [],
  // What reads Deno's private Request/Response internals, each with its public fallback.
  "lib/fastpath/": ["lib/h1/", "lib/shared/"],
  // Sockets, timers, the connection loops and the hand-over between protocols.
  "lib/engine/": ["lib/h1/", "lib/ws/", "lib/h2/", "lib/fastpath/", "lib/shared/"],
  // Handler-side code: never the engine, never each other's internals.
  "lib/static/": ["lib/h1/", "lib/fastpath/", "lib/shared/"],
  "lib/handlers/": ["lib/h1/", "lib/fastpath/", "lib/shared/"],
  // Only the CLI wires everything.
  "lib/cli/": ["lib/"],
};

/** Local module (path from the repository root) → the local modules it imports, types too. */
async function moduleGraph(): Promise<Map<string, string[]>> {
  const modules: string[] = ["server.ts"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) walk(`${path}/`);
      else if (entry.name.endsWith(".ts")) modules.push(path);
    }
  };
  walk("lib/");
  // One root that imports every module, so `deno info` runs once.
  const root = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      root,
      modules.map((m) => `import type {} from ${JSON.stringify(new URL(m, ROOT).href)};`)
        .join("\n"),
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const local = (specifier: string) =>
      specifier.startsWith(ROOT.href) ? specifier.slice(ROOT.href.length) : null;
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === null) continue;
      const to = (module.dependencies ?? [])
        .flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .map((s) => s === undefined ? null : local(s))
        .filter((s): s is string => s !== null && s.endsWith(".ts"));
      graph.set(from, [...new Set(to)]);
    }
    return graph;
  } finally {
    await Deno.remove(root);
  }
}

/** Every import cycle in `graph`, as the list of modules around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (module: string) => {
    state.set(module, "open");
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(module, "done");
  };
  for (const module of graph.keys()) if (!state.has(module)) visit(module);
  return found;
}

/** The layer folder of a module, or null for one outside the layers (server.ts, lib/mod.ts). */
function layerOf(module: string): string | null {
  return Object.keys(ALLOWED).find((folder) => module.startsWith(folder)) ?? null;
}

/** Every import that breaks a layer rule, as "from -> to". */
function violations(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [from, imports] of graph) {
    const layer = layerOf(from);
    for (const to of imports) {
      if (layer !== null) {
        const ok = to.startsWith(layer) || ALLOWED[layer].some((folder) => to.startsWith(folder));
        if (!ok) found.push(`${from} -> ${to}`);
      }
      // The CLI is wired by its entry point alone (and its worker, started by URL).
      if (to.startsWith("lib/cli/") && from !== "server.ts" && !from.startsWith("lib/cli/")) {
        found.push(`${from} -> ${to}`);
      }
    }
  }
  return [...new Set(found)];
}

const graph = await moduleGraph();

Deno.test("layers: every module under lib/ is in a layer, or is lib/mod.ts", () => {
  const outside = [...graph.keys()].filter((m) =>
    m.startsWith("lib/") && layerOf(m) === null && m !== "lib/mod.ts"
  );
  assert.deepEqual(outside, []);
  assert.ok(graph.size > 50, `${graph.size} modules read`);
});

Deno.test("layers: no import cycles", () => {
  assert.deepEqual(cycles(graph), []);
});

Deno.test("layers: no layer imports one above it, and only the CLI's entry imports the CLI", () => {
  assert.deepEqual(violations(graph), []);
});

Deno.test("layers: the rules catch an upward import and a cycle", () => {
  const bad = new Map<string, string[]>([
    ["lib/h1/errors.ts", ["lib/engine/output.ts"]],
    ["lib/engine/output.ts", ["lib/h1/errors.ts"]],
    ["lib/static/serve.ts", ["lib/engine/connection.ts", "lib/h1/date.ts"]],
    ["lib/handlers/log.ts", ["lib/cli/main.ts"]],
    ["lib/engine/connection.ts", ["lib/fastpath/request.ts"]],
  ]);
  assert.deepEqual(violations(bad), [
    "lib/h1/errors.ts -> lib/engine/output.ts",
    "lib/static/serve.ts -> lib/engine/connection.ts",
    "lib/handlers/log.ts -> lib/cli/main.ts",
  ]);
  assert.deepEqual(cycles(bad), [["lib/h1/errors.ts", "lib/engine/output.ts"]]);
});
