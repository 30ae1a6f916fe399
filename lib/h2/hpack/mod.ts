/**
 * HPACK (RFC 7541): Huffman code, static and dynamic tables, decoder and encoder.
 *
 * @module
 */

export {
  CODE_LENGTHS,
  CODES,
  EOS,
  huffmanDecode,
  huffmanEncode,
  huffmanLength,
} from "./huffman.ts";
export {
  STATIC_FIELD_INDEX,
  STATIC_LENGTH,
  STATIC_NAME_INDEX,
  STATIC_TABLE,
} from "./static_table.ts";
export { DynamicTable, ENTRY_OVERHEAD } from "./table.ts";
export { Decoder, type Field, MAX_INTEGER } from "./decoder.ts";
export { Encoder, type EncoderOptions, Indexing, writeInt } from "./encoder.ts";
export { latin1, writeLatin1 } from "./strings.ts";
