/**
 * HTTPS: a throwaway CA and a server certificate for 127.0.0.1 and localhost, made with openssl
 * at test time, then the library server and the CLI checked with curl and Deno's fetch.
 */

import assert from "node:assert/strict";
import { serve } from "../../lib/engine/server.ts";
import { canRun, runServer, spawnServer, within } from "../_spawn.ts";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const HAVE_OPENSSL = await canRun("openssl", ["version"]);
const HAVE_CURL = await canRun("curl", ["--version"]);
if (!HAVE_OPENSSL) {
  console.log("tls_test: skipped: openssl is not installed (apt-get install openssl)");
}
if (!HAVE_CURL) console.log("tls_test: curl checks skipped: curl is not installed");

/** PEM files for a test CA and a server certificate signed by it. */
interface Certs {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  /** A key that does not belong to the certificate. */
  otherKeyPath: string;
  ca: string;
  cert: string;
  key: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${decoder.decode(output.stderr)}`);
  }
}

/** A CA, and a certificate it signs with SAN IP:127.0.0.1, DNS:localhost, in a temp dir. */
async function makeCerts(): Promise<Certs> {
  const dir = await Deno.makeTempDir({ prefix: "tls_test_" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=tcp-http test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-keyout",
    "key.pem",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName = IP:127.0.0.1, DNS:localhost\n" +
      "basicConstraints = CA:FALSE\n" +
      "keyUsage = critical, digitalSignature\n" +
      "extendedKeyUsage = serverAuth\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  ]);
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    "other.key",
  ]);
  return {
    dir,
    caPath: `${dir}/ca.pem`,
    certPath: `${dir}/cert.pem`,
    keyPath: `${dir}/key.pem`,
    otherKeyPath: `${dir}/other.key`,
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/** Runs `body` with fresh certificates, removed afterwards. */
async function withCerts(body: (certs: Certs) => Promise<void>): Promise<void> {
  const certs = await makeCerts();
  try {
    await body(certs);
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
}

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** An HTTPS server answering with the method, URL and body size it saw. */
function echoServer(certs: Certs, onRemotePort?: (port: number) => void, http2?: boolean) {
  return serve(
    { hostname: HOST, port: 0, cert: certs.cert, key: certs.key, onListen() {}, http2 },
    async (request, info) => {
      onRemotePort?.(info.remoteAddr.port);
      const body = new Uint8Array(await request.arrayBuffer());
      const digest = body.length ? await sha256(body) : "-";
      return new Response(`${request.method} ${request.url} ${body.length} ${digest}\n`);
    },
  );
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

const ignore = !HAVE_OPENSSL;

Deno.test({
  name: "tls: curl --cacert and fetch with caCerts reach serve({ cert, key })",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const server = echoServer(certs);
      const base = `https://${HOST}:${server.addr.port}`;
      const client = Deno.createHttpClient({ caCerts: [certs.ca] });
      try {
        if (HAVE_CURL) {
          const ip = await curl(["--cacert", certs.caPath, `${base}/ip`]);
          assert.equal(ip.code, 0, ip.stderr);
          assert.equal(ip.stdout, `GET ${base}/ip 0 -\n`);
          // The DNS name in the SAN works too.
          const port = server.addr.port;
          const named = await curl([
            "--cacert",
            certs.caPath,
            "--resolve",
            `localhost:${port}:${HOST}`,
            `https://localhost:${port}/name`,
          ]);
          assert.equal(named.code, 0, named.stderr);
          assert.equal(named.stdout, `GET https://localhost:${port}/name 0 -\n`);
          // Without the CA, curl refuses the certificate.
          const untrusted = await curl([`${base}/`]);
          assert.equal(untrusted.code, 60, "curl: SSL certificate problem");
        }
        const response = await fetch(`${base}/fetch?x=1`, { client });
        assert.equal(response.status, 200);
        assert.equal(await response.text(), `GET ${base}/fetch?x=1 0 -\n`);
      } finally {
        client.close();
        await server.shutdown();
      }
    });
  },
});

Deno.test({
  name: "tls: keep-alive and request bodies (fixed and chunked) over one TLS connection",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const ports: number[] = [];
      const server = echoServer(certs, (port) => ports.push(port));
      const base = `https://${HOST}:${server.addr.port}`;
      const client = Deno.createHttpClient({ caCerts: [certs.ca] });
      try {
        const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251);
        const digest = await sha256(big);
        for (let i = 0; i < 3; i++) {
          const get = await fetch(`${base}/get${i}`, { client });
          assert.equal(await get.text(), `GET ${base}/get${i} 0 -\n`);
        }
        const post = await fetch(`${base}/post`, { client, method: "POST", body: big });
        assert.equal(await post.text(), `POST ${base}/post ${big.length} ${digest}\n`);
        // A streamed body is sent chunked.
        const chunked = await fetch(`${base}/chunked`, {
          client,
          method: "POST",
          body: ReadableStream.from([big.subarray(0, 1000), big.subarray(1000)]),
        });
        assert.equal(await chunked.text(), `POST ${base}/chunked ${big.length} ${digest}\n`);
        assert.equal(ports.length, 5);
        assert.equal(new Set(ports).size, 1, `one connection carried every request (${ports})`);
      } finally {
        client.close();
        await server.shutdown();
      }

      // The same over a raw TLS socket: two requests, the second chunked, on one connection.
      const again = echoServer(certs);
      const conn = await Deno.connectTls({
        hostname: HOST,
        port: again.addr.port,
        caCerts: [certs.ca],
      });
      try {
        const requests = `GET /one HTTP/1.1\r\nHost: ${HOST}\r\n\r\n` +
          `POST /two HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n` +
          `Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`;
        await conn.write(encoder.encode(requests));
        const text = await within(readText(conn), 5_000, "two responses over TLS");
        const bodies = [...text.matchAll(/\r\n\r\n([^\n]*\n)/g)].map((m) => m[1]);
        const helloWorld = await sha256(encoder.encode("hello world"));
        assert.deepEqual(bodies, [
          `GET https://${HOST}/one 0 -\n`,
          `POST https://${HOST}/two 11 ${helloWorld}\n`,
        ]);
      } finally {
        conn.close();
        await again.shutdown();
      }
    });
  },
});

async function readText(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      break; // TLS peers may close without close_notify
    }
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test({
  name: "tls: with http2: false, ALPN selects http/1.1 (curl -v and Deno.connectTls offering h2)",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const server = echoServer(certs, undefined, false);
      try {
        if (HAVE_CURL) {
          const verbose = await curl([
            "-v",
            "--cacert",
            certs.caPath,
            `https://${HOST}:${server.addr.port}/`,
          ]);
          assert.equal(verbose.code, 0, verbose.stderr);
          assert.match(
            verbose.stderr,
            /ALPN[:,] server accepted (to use )?http\/1\.1/,
            "curl reports the server's ALPN choice",
          );
        }
        const conn = await Deno.connectTls({
          hostname: HOST,
          port: server.addr.port,
          caCerts: [certs.ca],
          alpnProtocols: ["h2", "http/1.1"],
        });
        try {
          const { alpnProtocol } = await conn.handshake();
          assert.equal(alpnProtocol, "http/1.1");
        } finally {
          conn.close();
        }
      } finally {
        await server.shutdown();
      }
    });
  },
});

Deno.test({
  name: "tls: clients that fail the handshake are dropped quietly; others are served",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const logged: unknown[][] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => logged.push(args);
      const server = echoServer(certs);
      const port = server.addr.port;
      try {
        // Plain HTTP to the HTTPS port, and a TLS client that does not trust the certificate.
        const plain = await Deno.connect({ hostname: HOST, port });
        await plain.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        await within(readText(plain), 5_000, "plain HTTP to the HTTPS port is closed");
        plain.close();
        const untrusting = await Deno.connectTls({ hostname: HOST, port });
        await assert.rejects(untrusting.handshake());
        untrusting.close();

        const client = Deno.createHttpClient({ caCerts: [certs.ca] });
        try {
          const ok = await fetch(`https://${HOST}:${port}/after`, { client });
          assert.equal(await ok.text(), `GET https://${HOST}:${port}/after 0 -\n`);
        } finally {
          client.close();
        }
        await server.shutdown();
        assert.deepEqual(logged, [], "a failed handshake is the client's problem, not logged");
      } finally {
        console.error = original;
        await server.shutdown();
      }
    });
  },
});

Deno.test({
  name: "tls: a lone self-signed certificate is trusted directly if CA:FALSE (docs/deployment.md)",
  ignore,
  async fn() {
    await withCerts(async ({ dir }) => {
      const selfSigned = async (name: string, extra: string[]) => {
        await openssl(dir, [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          `${name}.key`,
          "-out",
          `${name}.pem`,
          "-days",
          "2",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName = DNS:localhost, IP:127.0.0.1",
          ...extra,
        ]);
        return {
          cert: await Deno.readTextFile(`${dir}/${name}.pem`),
          key: await Deno.readTextFile(`${dir}/${name}.key`),
        };
      };
      const leaf = await selfSigned("leaf", ["-addext", "basicConstraints = critical, CA:FALSE"]);
      const ca = await selfSigned("default", []); // openssl's default: CA:TRUE
      for (const [pem, trusted] of [[leaf, true], [ca, false]] as const) {
        const server = serve(
          { hostname: HOST, port: 0, onListen() {}, ...pem },
          () => new Response("self-signed\n"),
        );
        const client = Deno.createHttpClient({ caCerts: [pem.cert] });
        try {
          const url = `https://${HOST}:${server.addr.port}/`;
          if (trusted) {
            assert.equal(await (await fetch(url, { client })).text(), "self-signed\n");
          } else {
            const error = await fetch(url, { client }).then(() => null, (e: Error) => e);
            assert.ok(error, "Deno refuses a CA certificate as the server's");
            assert.match(String(error.cause ?? error), /CaUsedAsEndEntity/);
          }
        } finally {
          client.close();
          await server.shutdown();
        }
      }
    });
  },
});

// ---- The CLI --------------------------------------------------------------------------------

/** The CLI's flags for HTTPS on HOST at a free port with these PEM files. */
function tlsFlags(cert: string, key: string): string[] {
  return ["--host", HOST, "--port", "0", "--cert", cert, "--key", key];
}

Deno.test({
  name: "tls: server.ts --cert --key serves HTTPS and prints an https URL",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const server = await spawnServer(tlsFlags(certs.certPath, certs.keyPath));
      try {
        assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
        const client = Deno.createHttpClient({ caCerts: [certs.ca] });
        try {
          const home = await fetch(server.url, { client });
          assert.equal(home.status, 200);
          assert.match(await home.text(), /href="\/about"/);
        } finally {
          client.close();
        }
        if (HAVE_CURL) {
          const about = await curl(["--cacert", certs.caPath, new URL("/about", server.url).href]);
          assert.equal(about.code, 0, about.stderr);
        }
      } finally {
        const { code } = await server.stop("SIGTERM");
        assert.equal(code, 0);
      }
    });
  },
});

Deno.test({
  name: "tls: an unreadable --cert is one line on stderr and a non-zero exit",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const missing = await runServer(tlsFlags(`${certs.dir}/nope.pem`, certs.keyPath));
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, "");
      assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
      assert.match(missing.stderr, /^tcp-http: cannot read --cert .*nope\.pem/);

      // A directory where the certificate should be.
      const directory = await runServer(tlsFlags(certs.dir, certs.keyPath));
      assert.equal(directory.code, 1);
      assert.equal(directory.stderr.trim().split("\n").length, 1, directory.stderr);
      assert.match(directory.stderr, /^tcp-http: cannot read --cert /);

      // A file that is not a certificate.
      const garbage = await runServer(tlsFlags(`${certs.dir}/server.ext`, certs.keyPath));
      assert.equal(garbage.code, 1);
      assert.equal(garbage.stderr.trim().split("\n").length, 1, garbage.stderr);
      assert.match(garbage.stderr, /^tcp-http: cannot start HTTPS with /);
    });
  },
});

Deno.test({
  name: "tls: a key that does not match the certificate is one line and a non-zero exit",
  ignore,
  async fn() {
    await withCerts(async (certs) => {
      const result = await runServer(tlsFlags(certs.certPath, certs.otherKeyPath));
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, /^tcp-http: cannot start HTTPS with .*cert\.pem.*other\.key: /);
      assert.match(result.stderr, /key/i);
    });
  },
});
