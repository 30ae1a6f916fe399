/**
 * Uploads into a served directory, as miniserve does: `PUT /dir/name` with the file as the body,
 * or a multipart `POST /dir/` (the listing's form, RFC 7578) with any number of files. Each file
 * is written to a temporary dot-file in the directory it goes to and then linked (or, with
 * `overwrite`, renamed) to its name, so nobody ever sees a half-written file under that name,
 * and a failed or aborted upload leaves nothing behind. Names go through the same rules as
 * request paths (paths.ts), the directory through the same root guard (no symlink out of the
 * root, no dot-directory). Bodies are streamed to disk: memory stays bounded whatever the size,
 * and `maxBytes` bounds the size itself.
 *
 * @module
 */

import { boundaryOf, MultipartError, MultipartReader } from "./multipart.ts";
import type { ServeDirOptions } from "./options.ts";
import { realRoot, Refused, rootGuard, safeSegments, unservable, urlPrefix } from "./paths.ts";

/** Options of {@link receiveUpload}: where files go, and what may be replaced. */
export interface UploadOptions
  extends Pick<ServeDirOptions, "fsRoot" | "urlRoot" | "dotfiles" | "followSymlinks"> {
  /** Replace existing files (409 Conflict when off). @default {false} */
  overwrite?: boolean;
  /** Largest request body accepted, in bytes (413 past it). @default {104857600} */
  maxBytes?: number;
}

/** The methods a directory answers with uploads on. */
export const UPLOAD_ALLOW = "GET, HEAD, OPTIONS, PUT, POST";

const encoder = new TextEncoder();

class UploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function text(status: number, message: string, headers: Record<string, string> = {}): Response {
  const body = encoder.encode(`${message}\n`);
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}

/**
 * Whether `name` may be created: what a request path's segment may be (no `/`, `\`, NUL or
 * drive letter, not `.` or `..`, no leading dot unless `dotfiles`), and besides no control
 * character, at most 255 bytes, and not ending in a space or dot (names Windows cannot keep).
 */
export function validFileName(name: string, dotfiles = false): boolean {
  return name !== "" && name !== "." && name !== ".." && !unservable(name) &&
    // deno-lint-ignore no-control-regex
    !/[\x00-\x1f\x7f]/.test(name) && encoder.encode(name).length <= 255 &&
    !/[ .]$/.test(name) && (dotfiles || !name.startsWith("."));
}

/**
 * Answers an upload: `PUT` of one file (201 Created, or 204 when it replaced one), or a
 * multipart `POST` to a directory (303 back to the listing for a browser's form, 201 with the
 * names otherwise). 409 for a file that exists (without `overwrite`), a directory in the way or
 * a missing parent; 400 for a bad name or body; 413 past `maxBytes`; 415 for a POST that is not
 * multipart/form-data. Other methods are not its business: the caller routes PUT and POST here.
 */
export async function receiveUpload(request: Request, options: UploadOptions): Promise<Response> {
  try {
    if (request.method === "PUT") return await put(request, options);
    if (request.method === "POST") return await post(request, options);
    return text(405, "405 Method Not Allowed", { allow: UPLOAD_ALLOW });
  } catch (error) {
    if (error instanceof UploadError || error instanceof Refused) {
      return text(error.status, `${error.status} ${error.message}`);
    }
    if (error instanceof MultipartError) return text(400, `400 Bad Request: ${error.message}`);
    if ((error as { status?: number })?.status === 413) {
      return text(413, "413 Content Too Large");
    }
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      return text(403, "403 Forbidden: no permission to write here");
    }
    if (request.signal.aborted) throw error; // the client left: nobody to answer
    console.error("upload:", error);
    return text(500, "500 Internal Server Error");
  }
}

/** The directory `segments` name, checked: it exists, is a directory, and the guard allows it. */
async function directory(
  segments: readonly string[],
  options: UploadOptions,
  missing: number,
): Promise<string> {
  const root = await realRoot(options.fsRoot);
  const path = [root, ...segments].join("/");
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      throw new UploadError(missing, missing === 404 ? "Not Found" : "Conflict: no such directory");
    }
    throw error;
  }
  if (!info.isDirectory) throw new UploadError(409, "Conflict: not a directory");
  let allowed = false;
  try {
    allowed = rootGuard(root, options)(path, info);
  } catch {
    // vanished or loops: not allowed
  }
  if (!allowed) throw new UploadError(404, "Not Found");
  return path;
}

/**
 * The request body, erroring with 413 once past `max` bytes, and with 400 (or the engine's 413)
 * when it cannot be read: a broken framing, a client gone. No error from it is ours to log.
 */
function bounded(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let total = 0;
  return new ReadableStream({
    async pull(controller) {
      let result;
      try {
        result = await reader.read();
      } catch (error) {
        if ((error as { status?: number })?.status === 413) {
          throw new UploadError(413, "Content Too Large");
        }
        throw new UploadError(400, "Bad Request: the body could not be read");
      }
      if (result.done) return controller.close();
      total += result.value.length;
      if (total > max) {
        reader.cancel().catch(() => {});
        throw new UploadError(413, "Content Too Large");
      }
      controller.enqueue(result.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A file being written: a hidden temporary name in its directory until it is committed. */
class PendingFile {
  readonly temp: string;
  #file: Deno.FsFile | null;
  committed = false;

  constructor(readonly dir: string, readonly name: string) {
    this.temp = `${dir}/.upload-${crypto.randomUUID()}.tmp`;
    this.#file = Deno.openSync(this.temp, { write: true, createNew: true, mode: 0o666 });
  }

  async write(chunk: Uint8Array): Promise<void> {
    let done = 0;
    while (done < chunk.length) done += await this.#file!.write(chunk.subarray(done));
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  /**
   * Gives the file its name. Without `overwrite` it is a hard link, which fails when the name
   * exists, so two uploads of one name cannot both win; where links are not supported, a check
   * and a rename. Returns whether a file was replaced.
   */
  async commit(overwrite: boolean): Promise<boolean> {
    this.close();
    const target = `${this.dir}/${this.name}`;
    const existing = lstatOrNull(target);
    if (existing?.isDirectory) throw new UploadError(409, `Conflict: ${this.name} is a directory`);
    if (overwrite) {
      await Deno.rename(this.temp, target);
      this.committed = true;
      return existing !== null;
    }
    if (existing !== null) throw new UploadError(409, `Conflict: ${this.name} exists`);
    try {
      await Deno.link(this.temp, target);
      await Deno.remove(this.temp);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new UploadError(409, `Conflict: ${this.name} exists`);
      }
      if (lstatOrNull(target) !== null) throw error;
      await Deno.rename(this.temp, target);
    }
    this.committed = true;
    return false;
  }

  /** Closes and removes the temporary file unless it was committed. */
  async discard(): Promise<void> {
    this.close();
    if (!this.committed) await Deno.remove(this.temp).catch(() => {});
  }
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

/** The URL path of a directory's segments (with the prefix), percent-encoded, ending in "/". */
function urlOf(options: UploadOptions, segments: readonly string[]): string {
  const all = [...urlPrefix(options.urlRoot), ...segments];
  return `/${all.map((s) => `${encodeURIComponent(s)}/`).join("")}`;
}

async function put(request: Request, options: UploadOptions): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname.endsWith("/")) throw new UploadError(400, "Bad Request: PUT needs a file name");
  const segments = safeSegments(url.pathname, options);
  const name = segments.at(-1);
  if (name === undefined || !validFileName(name, options.dotfiles)) {
    throw new UploadError(400, "Bad Request: invalid file name");
  }
  const dir = await directory(segments.slice(0, -1), options, 409);
  const target = lstatOrNull(`${dir}/${name}`);
  if (target?.isDirectory) throw new UploadError(409, `Conflict: ${name} is a directory`);
  if (target !== null && !options.overwrite) throw new UploadError(409, `Conflict: ${name} exists`);

  const file = new PendingFile(dir, name);
  try {
    if (request.body !== null) {
      for await (const chunk of bounded(request.body, maxBytes(options))) await file.write(chunk);
    }
    const replaced = await file.commit(options.overwrite === true);
    if (replaced) return new Response(null, { status: 204 });
    const location = urlOf(options, segments.slice(0, -1)) + encodeURIComponent(name);
    return text(201, "201 Created", { location });
  } finally {
    await file.discard();
  }
}

function maxBytes(options: UploadOptions): number {
  return options.maxBytes ?? 100 * 1024 * 1024;
}

async function post(request: Request, options: UploadOptions): Promise<Response> {
  const url = new URL(request.url);
  const segments = safeSegments(url.pathname, options);
  const dir = await directory(segments, options, 404);
  const boundary = boundaryOf(request.headers.get("content-type"));
  if (boundary === null) {
    throw new UploadError(415, "Unsupported Media Type: send multipart/form-data");
  }
  if (request.body === null) throw new UploadError(400, "Bad Request: no body");

  const files: PendingFile[] = [];
  const names = new Set<string>();
  try {
    const reader = new MultipartReader(bounded(request.body, maxBytes(options)), boundary);
    for (let part = await reader.next(); part !== null; part = await reader.next()) {
      // Fields that are not files, and a file input left empty (filename=""), are skipped.
      if (part.filename === null || part.filename === "") continue;
      const name = part.filename;
      if (!validFileName(name, options.dotfiles)) {
        throw new UploadError(400, "Bad Request: invalid file name");
      }
      if (names.has(name)) throw new UploadError(400, `Bad Request: ${name} sent twice`);
      names.add(name);
      if (!options.overwrite && lstatOrNull(`${dir}/${name}`) !== null) {
        throw new UploadError(409, `Conflict: ${name} exists`);
      }
      const file = new PendingFile(dir, name);
      files.push(file);
      for (let chunk = await part.read(); chunk !== null; chunk = await part.read()) {
        await file.write(chunk);
      }
      file.close();
    }
    if (files.length === 0) throw new UploadError(400, "Bad Request: no file in the form");
    for (const file of files) await file.commit(options.overwrite === true);
  } finally {
    for (const file of files) await file.discard();
  }
  const location = urlOf(options, segments);
  if (/\btext\/html\b/i.test(request.headers.get("accept") ?? "")) {
    // A browser's form: back to the listing, which now shows the files (303: GET it).
    return new Response(null, { status: 303, headers: { location } });
  }
  return text(
    201,
    `201 Created\n${files.map((f) => location + encodeURIComponent(f.name)).join("\n")}`,
    {
      location,
    },
  );
}
