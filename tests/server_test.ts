/**
 * The engine over real sockets, driven with raw bytes: keep-alive, pipelining, HEAD,
 * 100-continue, chunked both ways, every error status, draining, timeouts, shutdown.
 */
import assert from "node:assert/strict";
import { type Handler, serve, type ServeOptions } from "../lib/mod.ts";

const encoder = new TextEncoder();

interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A raw client that reads whole responses (Content-Length, chunked or until close). */
class RawClient {
  #buffer = "";
  #eof = false;
  constructor(readonly conn: Deno.TcpConn) {}

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(text: string): Promise<void> {
    await this.conn.write(Uint8Array.from(text, (c) => c.charCodeAt(0)));
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk).catch(() => null);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#buffer += String.fromCharCode(...chunk.subarray(0, n));
    return true;
  }

  /** The next response; `head` says it answers a HEAD (no body whatever the headers say). */
  async response(head = false): Promise<Parsed> {
    while (!this.#buffer.includes("\r\n\r\n")) {
      if (!await this.#fill()) {
        throw new Error(`connection closed; got ${JSON.stringify(this.#buffer)}`);
      }
    }
    const end = this.#buffer.indexOf("\r\n\r\n");
    const [statusLine, ...lines] = this.#buffer.slice(0, end).split("\r\n");
    this.#buffer = this.#buffer.slice(end + 4);
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    let body = "";
    if (head || status === 204 || status === 304 || status < 200) {
      // no body
    } else if (headers.get("transfer-encoding") === "chunked") {
      for (;;) {
        while (!this.#buffer.includes("\r\n")) await this.#fill();
        const size = parseInt(this.#buffer.slice(0, this.#buffer.indexOf("\r\n")), 16);
        const needed = this.#buffer.indexOf("\r\n") + 2 + size + 2;
        while (this.#buffer.length < needed) {
          if (!await this.#fill()) throw new Error("closed inside a chunk");
        }
        body += this.#buffer.slice(needed - size - 2, needed - 2);
        this.#buffer = this.#buffer.slice(needed);
        if (size === 0) break;
      }
    } else if (headers.has("content-length")) {
      const length = Number(headers.get("content-length"));
      while (this.#buffer.length < length) {
        if (!await this.#fill()) throw new Error("closed inside a body");
      }
      body = this.#buffer.slice(0, length);
      this.#buffer = this.#buffer.slice(length);
    } else {
      while (await this.#fill()) { /* until close */ }
      body = this.#buffer;
      this.#buffer = "";
    }
    return { status, headers, body };
  }

  /** Whether the server closed the connection (EOF with nothing more). */
  async closed(): Promise<boolean> {
    while (await this.#fill()) { /* drain */ }
    return this.#buffer === "";
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** Runs `fn` against a server with `handler`, then shuts it down. */
async function withServer(
  handler: Handler,
  fn: (port: number) => Promise<void>,
  options: Partial<ServeOptions> = {},
): Promise<void> {
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...options }, handler);
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

const echo: Handler = async (request) => {
  const body = request.body ? await request.text() : "";
  return new Response(`${request.method} ${new URL(request.url).pathname} ${body}`);
};

Deno.test("server: keep-alive carries several requests on one connection", async () => {
  await withServer(echo, async (port) => {
    const client = await RawClient.open(port);
    for (let i = 0; i < 3; i++) {
      await client.send(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(response.body, `GET /${i} `);
      assert.ok(response.headers.has("date"));
      assert.equal(response.headers.get("server"), "tcp-http");
      assert.equal(response.headers.get("connection"), undefined);
    }
    client.close();
  });
});

Deno.test("server: HTTP/1.0 closes unless it asks for keep-alive", async () => {
  await withServer(echo, async (port) => {
    const plain = await RawClient.open(port);
    await plain.send("GET /a HTTP/1.0\r\n\r\n");
    const first = await plain.response();
    assert.equal(first.headers.get("connection"), "close");
    assert.ok(await plain.closed());
    plain.close();
    const kept = await RawClient.open(port);
    await kept.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
    assert.equal((await kept.response()).headers.get("connection"), "keep-alive");
    assert.equal((await kept.response()).body, "GET /b ");
    assert.ok(await kept.closed());
    kept.close();
  });
});

Deno.test("server: pipelined requests with bodies in one write are answered in order", async () => {
  await withServer(echo, async (port) => {
    const client = await RawClient.open(port);
    await client.send(
      "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n" +
        "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n" +
        "PUT /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz",
    );
    assert.equal((await client.response()).body, "POST /1 hello");
    assert.equal((await client.response()).body, "POST /2 abcde");
    assert.equal((await client.response()).body, "GET /3 ");
    assert.equal((await client.response()).body, "PUT /4 xyz");
    client.close();
  });
});

Deno.test("server: pipelined requests split at awkward offsets", async () => {
  await withServer(echo, async (port) => {
    const client = await RawClient.open(port);
    const all = "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd" +
      "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    for (const piece of [all.slice(0, 7), all.slice(7, 30), all.slice(30, 49), all.slice(49)]) {
      await client.send(piece);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal((await client.response()).body, "POST /1 abcd");
    assert.equal((await client.response()).body, "GET /2 ");
    client.close();
  });
});

Deno.test("server: HEAD has GET's headers, no body, and the connection goes on", async () => {
  await withServer(
    () => new Response("twelve bytes", { headers: { "x-a": "1" } }),
    async (port) => {
      const client = await RawClient.open(port);
      await client.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const head = await client.response(true);
      assert.equal(head.headers.get("content-length"), "12");
      assert.equal(head.headers.get("x-a"), "1");
      const get = await client.response();
      assert.equal(get.body, "twelve bytes", "the HEAD response had no body bytes");
      client.close();
    },
  );
});

Deno.test("server: 204 and 304 carry no body", async () => {
  const handler: Handler = (request) =>
    new Response(null, { status: new URL(request.url).pathname === "/204" ? 204 : 304 });
  await withServer(handler, async (port) => {
    const client = await RawClient.open(port);
    await client.send(
      "GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const a = await client.response();
    assert.equal(a.status, 204);
    assert.equal(a.headers.get("content-length"), undefined);
    assert.equal((await client.response()).status, 304);
    assert.equal((await client.response()).status, 204);
    client.close();
  });
});

Deno.test("server: 100 Continue only when the handler reads the body", async () => {
  const handler: Handler = async (request) => {
    if (new URL(request.url).pathname === "/read") return new Response(await request.text());
    return new Response("not reading", { status: 413 });
  };
  await withServer(handler, async (port) => {
    const reader = await RawClient.open(port);
    await reader.send(
      "POST /read HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    const interim = await reader.response();
    assert.equal(interim.status, 100);
    await reader.send("data");
    assert.equal((await reader.response()).body, "data");
    reader.close();

    const refuser = await RawClient.open(port);
    await refuser.send(
      "POST /no HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    const final = await refuser.response();
    assert.equal(final.status, 413, "no 100 first");
    assert.equal(final.headers.get("connection"), "close");
    assert.ok(await refuser.closed());
    refuser.close();
  });
});

Deno.test("server: streamed responses are chunked for 1.1 and close-delimited for 1.0", async () => {
  const handler: Handler = () => {
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (n++ < 3) controller.enqueue(encoder.encode(`part${n};`));
          else controller.close();
        },
      }),
    );
  };
  await withServer(handler, async (port) => {
    const client = await RawClient.open(port);
    await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const chunked = await client.response();
    assert.equal(chunked.headers.get("transfer-encoding"), "chunked");
    assert.equal(chunked.body, "part1;part2;part3;");
    client.close();
    const old = await RawClient.open(port);
    await old.send("GET / HTTP/1.0\r\n\r\n");
    const closeDelimited = await old.response();
    assert.equal(closeDelimited.headers.get("transfer-encoding"), undefined);
    assert.equal(closeDelimited.headers.get("connection"), "close");
    assert.equal(closeDelimited.body, "part1;part2;part3;");
    old.close();
  });
});

Deno.test("server: a streamed body with a declared Content-Length is sent with it", async () => {
  const handler: Handler = () =>
    new Response(
      new ReadableStream({
        async start(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(encoder.encode("abc"));
          controller.enqueue(encoder.encode("de"));
          controller.close();
        },
      }),
      { headers: { "content-length": "5" } },
    );
  await withServer(handler, async (port) => {
    const client = await RawClient.open(port);
    await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const response = await client.response();
    assert.equal(response.headers.get("content-length"), "5");
    assert.equal(response.headers.get("transfer-encoding"), undefined);
    assert.equal(response.body, "abcde");
    client.close();
  });
});

const ERRORS: [string, string, number, Partial<ServeOptions>?][] = [
  ["bad request line", "GET /\r\n\r\n", 400],
  ["missing Host", "GET / HTTP/1.1\r\n\r\n", 400],
  [
    "CL and TE",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  ["bad chunk", "POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
  ["body over the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", 413, {
    maxBodyBytes: 10,
  }],
  [
    "chunked body growing past the limit",
    "POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n",
    413,
    { maxBodyBytes: 10 },
  ],
  ["long target", `GET /${"a".repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, {
    maxTargetBytes: 100,
  }],
  ["unknown expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", 417],
  ["head too large", `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(600)}\r\n\r\n`, 431, {
    maxHeadBytes: 512,
  }],
  ["too many headers", `GET / HTTP/1.1\r\nHost: a\r\n${"X: 1\r\n".repeat(20)}\r\n`, 431, {
    maxHeaders: 10,
  }],
  [
    "unknown transfer coding",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
  ],
  ["CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 501],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
];

for (const [name, request, status, options] of ERRORS) {
  Deno.test(`server: ${name} → ${status} and close`, async () => {
    const handler: Handler = async (req) =>
      new Response(new URL(req.url).pathname === "/read" ? await req.text() : "ok");
    await withServer(handler, async (port) => {
      const client = await RawClient.open(port);
      await client.send(request);
      const response = await client.response();
      assert.equal(response.status, status);
      if (status !== 501 || !request.startsWith("CONNECT")) {
        assert.equal(response.headers.get("connection"), "close");
        assert.ok(await client.closed(), "the server closed the connection");
      }
      client.close();
    }, options);
  });
}

Deno.test("server: an unread body is drained, and the next request is framed right", async () => {
  await withServer(
    (request) => new Response(`saw ${new URL(request.url).pathname}`),
    async (port) => {
      const client = await RawClient.open(port);
      const fake = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
      await client.send(
        `POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: ${fake.length}\r\n\r\n${fake}` +
          `POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${
            fake.length.toString(16)
          }\r\n${fake}\r\n0\r\n\r\n` +
          "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assert.equal((await client.response()).body, "saw /1");
      assert.equal((await client.response()).body, "saw /2");
      assert.equal((await client.response()).body, "saw /3");
      client.close();
    },
  );
});

Deno.test("server: a big unread body closes the connection instead", async () => {
  await withServer(() => new Response("ignored the body"), async (port) => {
    const client = await RawClient.open(port);
    await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
    const response = await client.response();
    assert.equal(response.headers.get("connection"), "close");
    client.close();
  }, { maxDrainBytes: 1000 });
});

Deno.test("server: a throwing handler gives 500 and the server lives on", async () => {
  let calls = 0;
  const originalError = console.error;
  console.error = () => {};
  try {
    await withServer((request) => {
      calls++;
      if (new URL(request.url).pathname === "/boom") throw new Error("boom");
      if (new URL(request.url).pathname === "/bad") return "not a response" as unknown as Response;
      return new Response("fine");
    }, async (port) => {
      const client = await RawClient.open(port);
      await client.send(
        "GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assert.equal((await client.response()).status, 500);
      assert.equal((await client.response()).status, 500);
      assert.equal((await client.response()).body, "fine");
      client.close();
    });
  } finally {
    console.error = originalError;
  }
  assert.equal(calls, 3);
});

Deno.test("server: onError shapes the error response", async () => {
  await withServer(() => {
    throw new Error("nope");
  }, async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(response.status, 503);
    assert.equal(await response.text(), "custom: nope");
  }, { onError: (error) => new Response(`custom: ${(error as Error).message}`, { status: 503 }) });
});

Deno.test("server: what the handler sees", async () => {
  let seen: Request | undefined;
  let remote: Deno.NetAddr | undefined;
  await withServer((request, info) => {
    seen = request;
    remote = info.remoteAddr;
    return new Response("ok");
  }, async (port) => {
    const client = await RawClient.open(port);
    await client.send(
      "PATCH /p/a?q=1 HTTP/1.1\r\nHost: example.com:81\r\nX-D: 1\r\nX-D: 2\r\n\r\n",
    );
    await client.response();
    assert.equal(seen!.method, "PATCH");
    assert.equal(seen!.url, "http://example.com:81/p/a?q=1");
    assert.equal(seen!.headers.get("x-d"), "1, 2");
    assert.equal(remote!.hostname, "127.0.0.1");
    await client.send("GET http://other.example/abs HTTP/1.1\r\nHost: ignored\r\n\r\n");
    await client.response();
    assert.equal(seen!.url, "http://other.example/abs", "absolute-form wins over Host");
    client.close();
  });
});

Deno.test("server: the handler reads the body while it arrives", async () => {
  const { promise: firstChunk, resolve } = Promise.withResolvers<string>();
  await withServer(async (request) => {
    const reader = request.body!.getReader();
    const { value } = await reader.read();
    resolve(new TextDecoder().decode(value));
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    return new Response(`rest=${rest}`);
  }, async (port) => {
    const client = await RawClient.open(port);
    await client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nfirst");
    assert.equal(await firstChunk, "first", "the handler saw data before the body was complete");
    await client.send("later");
    assert.equal((await client.response()).body, "rest=later");
    client.close();
  });
});

Deno.test("server: the handler's Connection: close is honoured", async () => {
  await withServer(
    () => new Response("bye", { headers: { connection: "close" } }),
    async (port) => {
      const client = await RawClient.open(port);
      await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await client.response()).headers.get("connection"), "close");
      assert.ok(await client.closed());
      client.close();
    },
  );
});

Deno.test("server: header, idle and body timeouts close connections", async () => {
  await withServer(async (request) => new Response(await request.text()), async (port) => {
    const slowloris = await RawClient.open(port);
    await slowloris.send("GET / HTTP/1.1\r\nHost: a\r\n");
    const idle = await RawClient.open(port);
    await idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await idle.response();
    const stalled = await RawClient.open(port);
    await stalled.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
    assert.ok(await slowloris.closed(), "header timeout");
    assert.ok(await idle.closed(), "idle timeout");
    assert.ok(await stalled.closed(), "body timeout");
    for (const c of [slowloris, idle, stalled]) c.close();
  }, { headerTimeout: 150, idleTimeout: 150, bodyTimeout: 150 });
});

Deno.test("server: a stalled client does not delay another", async () => {
  await withServer(() => new Response("quick"), async (port) => {
    const stalled = await RawClient.open(port);
    await stalled.send("GET / HTTP/1.1\r\nHo");
    const other = await RawClient.open(port);
    await other.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal((await other.response()).body, "quick");
    other.close();
    stalled.close();
  });
});

Deno.test("server: graceful shutdown lets a request in flight finish", async () => {
  const { promise: started, resolve } = Promise.withResolvers<void>();
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    resolve();
    await new Promise((r) => setTimeout(r, 200));
    return new Response("finished");
  });
  const busy = await RawClient.open(server.addr.port);
  const idle = await RawClient.open(server.addr.port);
  await busy.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  await started;
  const shutdown = server.shutdown();
  const response = await busy.response();
  assert.equal(response.body, "finished");
  assert.equal(response.headers.get("connection"), "close");
  assert.ok(await idle.closed(), "idle connections are closed");
  await shutdown;
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  busy.close();
  idle.close();
});

Deno.test("server: aborting the signal shuts down", async () => {
  const controller = new AbortController();
  const server = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, signal: controller.signal },
    () => new Response("x"),
  );
  controller.abort();
  await server.finished;
  assert.equal(server.connections, 0);
});

Deno.test("server: through fetch, with keep-alive reuse and JSON", async () => {
  await withServer(async (request) => {
    if (request.method === "POST") return Response.json({ got: await request.json() });
    return new Response("hello");
  }, async (port) => {
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(url)).text(), "hello");
    const posted = await fetch(url, { method: "POST", body: JSON.stringify({ a: [1, 2] }) });
    assert.deepEqual(await posted.json(), { got: { a: [1, 2] } });
  });
});
