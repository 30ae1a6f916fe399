/**
 * The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded one byte state at a time
 * so input may be split anywhere.
 *
 * @module
 */

import { DEFAULT_LIMITS, HttpError, type Limits } from "./errors.ts";
import { CR, type HeaderList, HTAB, LF, SP } from "./grammar.ts";
import { parseFieldLine } from "./request_head.ts";

const enum Chunk {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  EndLf,
  Done,
}

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )  (RFC 9112 §7.1.1)
// Whitespace only before a ";" or around "=": "a \r\n" and "5;x=1 \r\n" are malformed.
const CHUNK_EXT =
  /^(?:[ \t]*;[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+|"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/;

/**
 * Decodes the chunked transfer coding (RFC 9112 §7.1) one state at a time, so input may be split
 * anywhere. Line endings inside the coding must be CRLF: a bare LF here is a classic smuggling
 * vector, so it is refused. Chunk extensions are checked against the grammar and ignored;
 * trailer fields are parsed, bounded and kept.
 */
export class ChunkedDecoder {
  readonly #limits: Limits;
  #state = Chunk.Size;
  #size = 0;
  #digits = 0;
  #remaining = 0;
  #total = 0;
  #line: number[] = [];
  #trailerBytes = 0;
  /** Trailer fields received after the last chunk. */
  readonly trailers: HeaderList = [];

  constructor(limits: Limits = DEFAULT_LIMITS) {
    this.#limits = limits;
  }

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === Chunk.Done;
  }

  /**
   * Decode what can be decoded from `buf[start, end)`, pushing views of body data onto `out`
   * (views into `buf`: copy them before the buffer is reused).
   * @returns the number of bytes consumed; it stops at the end of the body.
   * @throws {HttpError} 400 on malformed framing, 413 past `maxBodyBytes`.
   */
  decode(buf: Uint8Array, start: number, end: number, out: Uint8Array[]): number {
    let i = start;
    while (i < end && this.#state !== Chunk.Done) {
      const c = buf[i];
      switch (this.#state) {
        case Chunk.Size: {
          const d = HEX[c];
          if (d >= 0) {
            if (++this.#digits > 12) throw new HttpError(413, "chunk too large");
            this.#size = this.#size * 16 + d;
            i++;
          } else if (this.#digits === 0) {
            throw new HttpError(400, "malformed chunk size");
          } else if (c === CR) {
            this.#state = Chunk.SizeLf;
            i++;
          } else if (c === 0x3b || c === SP || c === HTAB) {
            this.#state = Chunk.Ext;
          } else {
            throw new HttpError(400, "malformed chunk size");
          }
          break;
        }
        case Chunk.Ext: {
          if (c === CR) {
            if (!CHUNK_EXT.test(String.fromCharCode(...this.#line))) {
              throw new HttpError(400, "malformed chunk extension");
            }
            this.#line.length = 0;
            this.#state = Chunk.SizeLf;
          } else {
            if (this.#line.length + this.#digits >= this.#limits.maxChunkLineBytes) {
              throw new HttpError(400, "chunk extension too long");
            }
            this.#line.push(c);
          }
          i++;
          break;
        }
        case Chunk.SizeLf: {
          if (c !== LF) throw new HttpError(400, "chunk size line must end in CRLF");
          i++;
          if (this.#size === 0) {
            this.#state = Chunk.TrailerStart;
            break;
          }
          this.#total += this.#size;
          if (this.#total > this.#limits.maxBodyBytes) {
            throw new HttpError(413, "request body too large");
          }
          this.#remaining = this.#size;
          this.#size = 0;
          this.#digits = 0;
          this.#state = Chunk.Data;
          break;
        }
        case Chunk.Data: {
          const n = Math.min(this.#remaining, end - i);
          out.push(buf.subarray(i, i + n));
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (c !== CR) throw new HttpError(400, "chunk data must end in CRLF");
          this.#state = Chunk.DataLf;
          i++;
          break;
        case Chunk.DataLf:
          if (c !== LF) throw new HttpError(400, "chunk data must end in CRLF");
          this.#state = Chunk.Size;
          i++;
          break;
        case Chunk.TrailerStart:
          if (c === CR) {
            this.#state = Chunk.EndLf;
            i++;
          } else {
            this.#state = Chunk.Trailer;
          }
          break;
        case Chunk.Trailer:
          if (c === CR) {
            this.#state = Chunk.TrailerLf;
          } else if (c === LF) {
            throw new HttpError(400, "trailer line must end in CRLF");
          } else {
            if (++this.#trailerBytes > this.#limits.maxTrailerBytes) {
              throw new HttpError(431, "trailer section too large");
            }
            this.#line.push(c);
          }
          i++;
          break;
        case Chunk.TrailerLf: {
          if (c !== LF) throw new HttpError(400, "trailer line must end in CRLF");
          const line = Uint8Array.from(this.#line);
          this.#line.length = 0;
          if (this.trailers.length >= this.#limits.maxHeaders) {
            throw new HttpError(431, "too many trailer fields");
          }
          this.trailers.push(parseFieldLine(line, 0, line.length));
          this.#state = Chunk.TrailerStart;
          i++;
          break;
        }
        case Chunk.EndLf:
          if (c !== LF) throw new HttpError(400, "chunked body must end in CRLF");
          this.#state = Chunk.Done;
          i++;
          break;
      }
    }
    return i - start;
  }
}
