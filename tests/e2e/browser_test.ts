/**
 * A real browser against our static server: headless Chromium (Debian's `chromium`, installed
 * by .ci/run) loads a page with a stylesheet, a module script and an image, then seeks in a
 * video and in a sound, which only works when ranges do. The page reports what it saw with a
 * POST.
 *
 * The video is `fixtures/clip.webm`: 10 s of VP8 at 320×240 and 500 kbit/s, with a key frame every
 * second, made once with `ffmpeg -f lavfi -i "testsrc=size=320x240:rate=10:duration=10,
 * noise=alls=40:allf=t" -c:v libvpx -b:v 500k -minrate 500k -maxrate 500k -g 10 clip.webm` (noise
 * keeps it large enough, 523 KiB, that seeking to 7 s needs a range that does not start at 0).
 * The sound is a WAV generated here.
 */
import assert from "node:assert/strict";
import { serve } from "../../lib/mod.ts";
import { serveDir } from "../../lib/static/mod.ts";
import type { ExchangeRecord } from "../../lib/shared/types.ts";

const chromium = ["chromium", "chromium-browser", "google-chrome"].find((name) => {
  try {
    return new Deno.Command("which", { args: [name], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
});
if (!chromium) console.log("browser_test: skipped: no chromium on PATH (apt-get install chromium)");

/** A mono 8 kHz 16-bit WAV of `seconds` of a quiet tone. */
function wav(seconds: number): Uint8Array {
  const rate = 8000;
  const samples = rate * seconds;
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const text = (offset: number, s: string) =>
    [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    view.setInt16(44 + i * 2, Math.round(Math.sin(i / 10) * 1000), true);
  }
  return bytes;
}

// A 1x1 PNG.
const PIXEL = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** `body` again, in pieces of at most 16 KiB, one every 20 ms. */
function paced(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let rest: Uint8Array | null = null;
  return new ReadableStream({
    async pull(controller) {
      if (rest === null || rest.length === 0) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        rest = value;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.enqueue(rest.subarray(0, 16 * 1024));
      rest = rest.subarray(16 * 1024);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="style.css"></head>
<body><h1>browser test</h1><img id="img" src="pixel.png">
<video id="video" src="media/clip.wav" preload="auto" muted></video>
<video id="movie" src="media/clip.webm" preload="metadata" muted></video>
<script type="module" src="app.mjs"></script></body></html>
`;

const APP = `
const report = (data) => fetch("/report", { method: "POST", body: JSON.stringify(data) });
const img = document.getElementById("img");
const video = document.getElementById("video");
const imageLoaded = img.complete ? Promise.resolve() : new Promise((r) => img.onload = r);
const movie = document.getElementById("movie");
/** Seeks \`media\` to 7 s once its metadata is in; resolves with where it landed. */
const seekTo7 = (media) => new Promise((resolve, reject) => {
  media.onerror = () => reject(new Error(media.id + ": media error " + media.error?.code));
  const seek = () => {
    media.onseeked = () => resolve(media.currentTime);
    media.currentTime = 7;
  };
  if (media.readyState >= 1) seek(); else media.onloadedmetadata = seek;
});
Promise.all([imageLoaded, seekTo7(video), seekTo7(movie)]).then(([, time, movieTime]) => report({
  module: true,
  color: getComputedStyle(document.querySelector("h1")).color,
  imageWidth: img.naturalWidth,
  duration: video.duration,
  seekedTo: time,
  movieDuration: movie.duration,
  movieSeekedTo: movieTime,
  movieWidth: movie.videoWidth,
}), (error) => report({ error: String(error) }));
`;

Deno.test({
  name: "browser: Chromium loads CSS, a module script and an image, and seeks in media",
  ignore: !chromium,
  sanitizeResources: false, // Chromium's own sockets to us may outlive the page
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "browser-test-" });
    await Deno.mkdir(`${root}/media`);
    await Deno.writeTextFile(`${root}/index.html`, PAGE);
    await Deno.writeTextFile(`${root}/style.css`, "h1 { color: rgb(1, 2, 3); }\n");
    await Deno.writeTextFile(`${root}/app.mjs`, APP);
    await Deno.writeFile(`${root}/pixel.png`, PIXEL);
    await Deno.writeFile(`${root}/media/clip.wav`, wav(10));
    await Deno.copyFile(
      new URL("../fixtures/clip.webm", import.meta.url),
      `${root}/media/clip.webm`,
    );

    const log: ExchangeRecord[] = [];
    const { promise: reported, resolve } = Promise.withResolvers<Record<string, unknown>>();
    const server = serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onExchange: (record) => log.push(record),
    }, async (request) => {
      if (new URL(request.url).pathname === "/report") {
        resolve(await request.json());
        return new Response(null, { status: 204 });
      }
      const response = await serveDir(request, { fsRoot: root });
      // Over loopback the whole video would arrive before the seek: sent at about 800 KB/s, it
      // is still arriving when Chromium seeks, which then asks for a range further on.
      if (new URL(request.url).pathname !== "/media/clip.webm" || !response.body) return response;
      const { status, headers } = response;
      return new Response(paced(response.body), { status, headers });
    });
    const profile = await Deno.makeTempDir({ prefix: "browser-profile-" });
    const browser = new Deno.Command(chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--autoplay-policy=no-user-gesture-required",
        `--user-data-dir=${profile}`,
        `http://127.0.0.1:${server.addr.port}/`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => resolve({ error: "no report within 30 s" }), 30_000);
    try {
      const result = await reported;
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.module, true, "the module script ran (served as JavaScript)");
      assert.equal(result.color, "rgb(1, 2, 3)", "the stylesheet applied (served as CSS)");
      assert.equal(result.imageWidth, 1, "the image decoded");
      assert.equal(result.duration, 10);
      assert.ok(Math.abs((result.seekedTo as number) - 7) < 0.5, `seeked to ${result.seekedTo}`);
      const media = log.filter((r) => r.target.startsWith("/media/clip.wav"));
      assert.ok(media.some((r) => r.status === 206), "the media was fetched with ranges");
      assert.equal(result.movieWidth, 320, "the video decoded");
      assert.equal(result.movieDuration, 10);
      assert.ok(
        Math.abs((result.movieSeekedTo as number) - 7) < 0.5,
        `seeked to ${result.movieSeekedTo}`,
      );
      const movieRanges = log
        .filter((r) => r.target === "/media/clip.webm" && r.status === 206)
        .map((r) => r.request?.headers.get("range") ?? "");
      assert.ok(
        movieRanges.some((range) => /^bytes=[1-9]/.test(range)),
        `the seek fetched from the middle of the video: ${JSON.stringify(movieRanges)}`,
      );
      const types = new Map(log.map((r) => [r.target, r.status]));
      for (const path of ["/", "/style.css", "/app.mjs", "/pixel.png"]) {
        assert.equal(types.get(path), 200, path);
      }
    } finally {
      clearTimeout(timer);
      browser.kill("SIGKILL");
      await browser.status;
      await server.shutdown();
      await Deno.remove(root, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
