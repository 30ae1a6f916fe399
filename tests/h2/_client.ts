/**
 * A scripted HTTP/2 client for driving H2ServerConnection in tests: builds client frames
 * (with its own HPACK encoder) and reads back what the server wrote, header blocks decoded.
 *
 * @module
 */

import { ByteWriter } from "../../lib/h2/buffer.ts";
import {
  CLIENT_PREFACE,
  Decoder,
  Encoder,
  Flag,
  type Frame,
  FrameParser,
  FrameType,
  H2ServerConnection,
  type H2Settings,
} from "../../lib/h2/mod.ts";
import { concat, frame, u32 } from "./_util.ts";

export type Fields = [string, string][];

export const GET: Fields = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/"],
  [":authority", "example.com"],
];

export function settingsFrame(settings: [number, number][] = []): Uint8Array {
  return frame(
    FrameType.SETTINGS,
    0,
    0,
    settings.flatMap(([id, v]) => [id >> 8, id & 0xff, ...u32(v)]),
  );
}

/** What the server wrote, one object per frame (CONTINUATIONs folded into their HEADERS). */
export type Out =
  | { type: "HEADERS"; streamId: number; endStream: boolean; fields: Fields }
  | { type: "DATA"; streamId: number; endStream: boolean; length: number; text: string }
  | { type: "RST_STREAM"; streamId: number; code: number }
  | { type: "GOAWAY"; lastStreamId: number; code: number; debug: string }
  | { type: "SETTINGS"; ack: boolean; settings: [number, number][] }
  | { type: "WINDOW_UPDATE"; streamId: number; increment: number }
  | { type: "PING"; ack: boolean; data: number[] };

export class Client {
  readonly encoder = new Encoder({ lowerCaseNames: false }); // to send bad names too
  readonly decoder = new Decoder();
  readonly parser = new FrameParser(2 ** 24 - 1);
  #block: { streamId: number; endStream: boolean; parts: Uint8Array[] } | null = null;

  /** A header block frame; with `split`, HEADERS + CONTINUATIONs of that many octets each. */
  headers(
    streamId: number,
    fields: Fields,
    { endStream = false, split = 0 }: { endStream?: boolean; split?: number } = {},
  ): Uint8Array {
    const w = new ByteWriter();
    this.encoder.encode(w, fields);
    const block = w.take();
    const es = endStream ? Flag.END_STREAM : 0;
    if (split <= 0 || split >= block.length) {
      return frame(FrameType.HEADERS, es | Flag.END_HEADERS, streamId, block);
    }
    const parts = [frame(FrameType.HEADERS, es, streamId, block.subarray(0, split))];
    for (let at = split; at < block.length; at += split) {
      const last = at + split >= block.length;
      parts.push(
        frame(
          FrameType.CONTINUATION,
          last ? Flag.END_HEADERS : 0,
          streamId,
          block.subarray(at, at + split),
        ),
      );
    }
    return concat(...parts);
  }

  data(streamId: number, data: Uint8Array | string, endStream = false): Uint8Array {
    const bytes = typeof data === "string" ? Uint8Array.from(data, (c) => c.charCodeAt(0)) : data;
    return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, bytes);
  }

  /** Parses server output into plain objects. */
  read(bytes: Uint8Array): Out[] {
    const out: Out[] = [];
    this.parser.push(bytes, (f) => this.#frame(f, out));
    return out;
  }

  #frame(f: Frame, out: Out[]): void {
    switch (f.type) {
      case FrameType.HEADERS:
        this.#block = { streamId: f.streamId, endStream: f.endStream, parts: [f.fragment.slice()] };
        if (f.endHeaders) this.#endBlock(out);
        return;
      case FrameType.CONTINUATION:
        this.#block!.parts.push(f.fragment.slice());
        if (f.endHeaders) this.#endBlock(out);
        return;
      case FrameType.DATA:
        out.push({
          type: "DATA",
          streamId: f.streamId,
          endStream: f.endStream,
          length: f.data.length,
          text: f.data.length <= 64 ? String.fromCharCode(...f.data) : "",
        });
        return;
      case FrameType.RST_STREAM:
        out.push({ type: "RST_STREAM", streamId: f.streamId, code: f.code });
        return;
      case FrameType.GOAWAY:
        out.push({
          type: "GOAWAY",
          lastStreamId: f.lastStreamId,
          code: f.code,
          debug: String.fromCharCode(...f.debug),
        });
        return;
      case FrameType.SETTINGS:
        out.push({ type: "SETTINGS", ack: f.ack, settings: f.settings });
        return;
      case FrameType.WINDOW_UPDATE:
        out.push({ type: "WINDOW_UPDATE", streamId: f.streamId, increment: f.increment });
        return;
      case FrameType.PING:
        out.push({ type: "PING", ack: f.ack, data: Array.from(f.data) });
        return;
      default:
        throw new Error(`unexpected frame from the server: ${f.type}`);
    }
  }

  #endBlock(out: Out[]): void {
    const b = this.#block!;
    this.#block = null;
    const fields = this.decoder.decode(concat(...b.parts)) as Fields;
    out.push({ type: "HEADERS", streamId: b.streamId, endStream: b.endStream, fields });
  }
}

/** A server past its handshake: preface and SETTINGS exchanged, output drained. */
export function connected(
  settings: H2Settings = {},
  clientSettings: [number, number][] = [],
): { server: H2ServerConnection; client: Client } {
  const server = new H2ServerConnection(settings);
  const client = new Client();
  server.receive(concat(CLIENT_PREFACE, settingsFrame(clientSettings)));
  server.receive(frame(FrameType.SETTINGS, Flag.ACK, 0));
  client.read(server.takeOutput());
  return { server, client };
}
