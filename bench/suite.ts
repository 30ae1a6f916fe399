/**
 * What the benchmark compares: the servers, and the shapes of load each is put under.
 *
 * @module
 */

/** The servers, in the order the tables list them. */
export const SERVER_NAMES = ["ours", "deno_serve", "nginx", "raw"] as const;
export type ServerName = typeof SERVER_NAMES[number];

/** The shapes, in the order they run. */
export const SHAPE_NAMES = [
  "keepalive",
  "pipeline",
  "close",
  "static-16k",
  "static-1m",
  "memory",
] as const;
export type ShapeName = typeof SHAPE_NAMES[number];

/** The server every ratio is taken against. */
export const BASELINE: ServerName = "deno_serve";

/** Connections wrk keeps open, for every load shape. */
export const CONNECTIONS = 50;
/** Requests per write in the pipelining shape (bench/pipeline.lua says the same). */
export const PIPELINE_DEPTH = 16;
/** Idle keep-alive connections the memory shape opens, when the fd limit allows. */
export const IDLE_CONNECTIONS = 2_000;

/** The static files the harness creates: name and size. */
export const STATIC_FILES = { "16k.bin": 16 * 1024, "1m.bin": 1024 * 1024 } as const;
export type StaticFile = keyof typeof STATIC_FILES;

/**
 * What a server process is started to do: answer "Hello, World!", do the same but close after
 * each reply (only the raw loop needs telling: the others read `Connection: close`), or serve
 * the static files.
 */
export type Mode = "hello" | "close" | "files";

/** A shape driven by wrk. */
export interface LoadShape {
  kind: "load";
  name: Exclude<ShapeName, "memory">;
  /** A short human title, for tables and the chart. */
  title: string;
  mode: Mode;
  /** The URL path wrk requests. */
  path: string;
  /** Extra request headers for wrk. */
  headers?: string[];
  /** A wrk Lua script, relative to bench/. */
  script?: string;
  /** The file served, for the static shapes. */
  file?: StaticFile;
  /** Every request opens a connection (so TIME_WAIT sockets left by earlier runs matter). */
  newConnections?: boolean;
}

/** The idle-connection memory shape. */
export interface MemoryShape {
  kind: "memory";
  name: "memory";
  title: string;
}

export type Shape = LoadShape | MemoryShape;

/** Every shape by name; `memory` is the only one not driven by wrk. */
export const SHAPES: { [Name in ShapeName]: Name extends "memory" ? MemoryShape : LoadShape } = {
  keepalive: { kind: "load", name: "keepalive", title: "keep-alive", mode: "hello", path: "/" },
  pipeline: {
    kind: "load",
    name: "pipeline",
    title: `pipelined ×${PIPELINE_DEPTH}`,
    mode: "hello",
    path: "/",
    script: "pipeline.lua",
  },
  close: {
    kind: "load",
    name: "close",
    title: "new connection per request",
    mode: "close",
    path: "/",
    headers: ["Connection: close"],
    newConnections: true,
  },
  "static-16k": {
    kind: "load",
    name: "static-16k",
    title: "static file 16 KiB",
    mode: "files",
    path: "/16k.bin",
    file: "16k.bin",
  },
  "static-1m": {
    kind: "load",
    name: "static-1m",
    title: "static file 1 MiB",
    mode: "files",
    path: "/1m.bin",
    file: "1m.bin",
  },
  memory: { kind: "memory", name: "memory", title: "idle keep-alive connections" },
};

/** A server under test. */
export interface ServerSpec {
  name: ServerName;
  /** As tables and the chart name it. */
  label: string;
  /** Its entry point, relative to bench/. */
  file: string;
  /** Library modules it needs in `mode`, relative to the repository root. */
  needs(mode: Mode): string[];
  /** The arguments after PORT for `mode`, or why this server does not take part in it. */
  args(mode: Mode, fsRoot: string): string[] | { skip: string };
  /**
   * For a server that is not a Deno script (nginx): the command that runs it on `port` with
   * `args`, and what to remove after it has stopped.
   */
  command?(port: number, args: string[]): Promise<ServerCommand>;
}

/** A server process that is not a Deno script. */
export interface ServerCommand {
  cmd: string;
  args: string[];
  /** Removes what the command needed (its configuration and temporary files). */
  cleanup(): Promise<void>;
}

export const SERVERS: Record<ServerName, ServerSpec> = {
  ours: {
    name: "ours",
    label: "ours",
    file: "servers/ours.ts",
    needs: (mode) => mode === "files" ? ["lib/mod.ts", "lib/static/mod.ts"] : ["lib/mod.ts"],
    args: (mode, fsRoot) => mode === "files" ? [fsRoot] : [],
  },
  deno_serve: {
    name: "deno_serve",
    label: "Deno.serve",
    file: "servers/deno_serve.ts",
    needs: () => [],
    args: (mode, fsRoot) => mode === "files" ? [fsRoot] : [],
  },
  nginx: {
    name: "nginx",
    label: "nginx",
    file: "",
    needs: () => [],
    // Either an answer from a fixed string, or files from the directory (sendfile on).
    args: (mode, fsRoot) => mode === "files" ? [fsRoot] : [],
    command: nginxCommand,
  },
  raw: {
    name: "raw",
    label: "raw loop",
    file: "servers/raw.ts",
    needs: () => [],
    args: (mode) =>
      mode === "files"
        ? { skip: "n/a: the raw loop serves no files" }
        : mode === "close"
        ? ["close"]
        : [],
  },
};

/**
 * Debian's nginx as a single process (`master_process off`, one worker's work in the process the
 * harness started, so its CPU and memory are that process's): "Hello, World!" from `return`, or
 * the files of `args[0]` with sendfile, keep-alive without a request cap.
 */
async function nginxCommand(port: number, args: string[]): Promise<ServerCommand> {
  const prefix = await Deno.makeTempDir({ prefix: "bench-nginx-" });
  const serveFiles = args.length > 0
    ? `root ${args[0]};\n      sendfile on;`
    : `default_type text/plain;\n      return 200 "Hello, World!";`;
  await Deno.writeTextFile(
    `${prefix}/nginx.conf`,
    `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log crit;
events { worker_connections 10000; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      ${serveFiles}
    }
  }
}
`,
  );
  return {
    cmd: "nginx",
    args: ["-p", prefix, "-e", `${prefix}/error.log`, "-c", `${prefix}/nginx.conf`],
    cleanup: () => Deno.remove(prefix, { recursive: true }),
  };
}
