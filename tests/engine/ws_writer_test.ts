import assert from "node:assert/strict";
import { type Entry, FrameWriter } from "../../lib/engine/ws_writer.ts";
import { encodeFrame, FrameParser, Opcode } from "../../lib/ws/mod.ts";

/** A connection whose writes wait until the test lets them finish, taking at most `limit`
 *  bytes each. */
class FakeConn {
  writes: Uint8Array[] = [];
  #pending: (() => void)[] = [];
  limit = Infinity;
  fail = false;

  write(bytes: Uint8Array): Promise<number> {
    const n = Math.min(bytes.length, this.limit);
    this.writes.push(bytes.slice(0, n));
    if (this.fail) return Promise.reject(new Error("reset"));
    return new Promise((resolve) => this.#pending.push(() => resolve(n)));
  }

  /** Lets the writes under way finish, and what follows them, until none is left. */
  async settle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const pending = this.#pending;
      if (pending.length === 0) return;
      this.#pending = [];
      for (const finish of pending) finish();
    }
  }

  get inFlight(): number {
    return this.#pending.length;
  }
}

/** The frames in `bytes` as [opcode, text or byte count]. */
function frames(bytes: Uint8Array): [number, string | number][] {
  const parser = new FrameParser({ role: "client" });
  parser.push(bytes);
  const out: [number, string | number][] = [];
  for (let f; (f = parser.nextFrame()) !== null;) {
    out.push([
      f.opcode,
      f.opcode === Opcode.Text ? new TextDecoder().decode(f.payload) : f.payload.length,
    ]);
  }
  assert.equal(parser.buffered, 0, "whole frames only");
  return out;
}

function joined(conn: FakeConn): Uint8Array {
  const out = new Uint8Array(conn.writes.reduce((n, w) => n + w.length, 0));
  let offset = 0;
  for (const w of conn.writes) out.set(w, offset), offset += w.length;
  return out;
}

/** The socket's encoder, reduced to what the tests need. */
async function encode(entry: Entry): Promise<Uint8Array | null> {
  switch (entry.kind) {
    case "message":
      return encodeFrame(entry.text ? Opcode.Text : Opcode.Binary, entry.data);
    case "blob":
      return encodeFrame(Opcode.Binary, new Uint8Array(await entry.blob.arrayBuffer()));
    case "close":
      return encodeFrame(Opcode.Close, new Uint8Array(0));
    case "frames":
      return entry.bytes;
  }
}

function writer(conn: FakeConn): FrameWriter {
  return new FrameWriter(conn as unknown as Deno.Conn, encode);
}

Deno.test("FrameWriter: one write in flight; what is sent meanwhile leaves together, in order", async () => {
  const conn = new FakeConn();
  const w = writer(conn);
  w.text("first");
  assert.equal(conn.writes.length, 1, "the first message is written at once");
  w.text("héllo");
  w.binary(new Uint8Array(300));
  w.push({ kind: "blob", blob: new Blob([new Uint8Array(5)]), size: 5 });
  w.text("x".repeat(200));
  w.push({ kind: "message", text: true, data: new TextEncoder().encode("deflated"), size: 8 });
  w.text("last");
  assert.equal(conn.inFlight, 1);
  assert.equal(w.bufferedAmount, 5 + 6 + 300 + 5 + 200 + 8 + 4);
  await conn.settle();
  assert.equal(conn.writes.length, 2, "everything sent behind the first write goes in one more");
  assert.deepEqual(frames(joined(conn)), [
    [Opcode.Text, "first"],
    [Opcode.Text, "héllo"],
    [Opcode.Binary, 300],
    [Opcode.Binary, 5],
    [Opcode.Text, "x".repeat(200)],
    [Opcode.Text, "deflated"],
    [Opcode.Text, "last"],
  ]);
  assert.equal(w.bufferedAmount, 0);
  assert.equal(w.bytesSent, joined(conn).length);
  await w.idle();
});

Deno.test("FrameWriter: held, sends gather into one write at release", async () => {
  const conn = new FakeConn();
  const w = writer(conn);
  w.hold();
  for (let i = 0; i < 16; i++) w.text(`m${i}`);
  assert.equal(conn.writes.length, 0);
  w.release();
  assert.equal(conn.writes.length, 1);
  await conn.settle();
  assert.deepEqual(
    frames(joined(conn)).map(([, t]) => t),
    [...Array(16).keys()].map((i) => `m${i}`),
  );
});

Deno.test("FrameWriter: every length form, text beyond a batch, non-ASCII and empty", async () => {
  const conn = new FakeConn();
  const w = writer(conn);
  const texts = ["", "a", "x".repeat(125), "x".repeat(126), "é".repeat(100), "ü".repeat(3000)];
  texts.push("y".repeat(70_000), "z".repeat(6000));
  for (const t of texts) w.text(t);
  const sizes = [0, 1, 125, 126, 65535, 65536, 16 * 1024 - 4, 16 * 1024];
  for (const n of sizes) w.binary(new Uint8Array(n).fill(7));
  await conn.settle();
  assert.deepEqual(frames(joined(conn)), [
    ...texts.map((t) => [Opcode.Text, t]),
    ...sizes.map((n) => [Opcode.Binary, n]),
  ]);
});

Deno.test("FrameWriter: a write the kernel takes in part is finished before anything else", async () => {
  const conn = new FakeConn();
  conn.limit = 7;
  const w = writer(conn);
  w.text("a".repeat(20));
  w.text("b".repeat(20));
  w.push({ kind: "close", code: undefined, reason: "", size: 0 });
  w.text("c".repeat(20));
  await conn.settle();
  assert.ok(conn.writes.every((bytes) => bytes.length <= 7));
  assert.deepEqual(frames(joined(conn)), [
    [Opcode.Text, "a".repeat(20)],
    [Opcode.Text, "b".repeat(20)],
    [Opcode.Close, 0],
    [Opcode.Text, "c".repeat(20)],
  ]);
  assert.equal(w.bufferedAmount, 0);
});

Deno.test("FrameWriter: a failed write drops what is queued and settles", async () => {
  const conn = new FakeConn();
  conn.fail = true;
  const w = writer(conn);
  w.text("lost");
  w.text("lost too");
  await w.idle();
  assert.equal(w.bufferedAmount, 0);
  const writes = conn.writes.length;
  w.text("after");
  await w.idle();
  assert.equal(conn.writes.length, writes, "nothing is written once the connection is gone");
});

Deno.test("FrameWriter: the sender's buffer may change once binary() returns", async () => {
  const conn = new FakeConn();
  const w = writer(conn);
  w.text("busy");
  const data = new Uint8Array([1, 2, 3]);
  w.binary(data);
  data.fill(9);
  await conn.settle();
  const all = joined(conn);
  assert.deepEqual([...all.subarray(all.length - 3)], [1, 2, 3]);
});
