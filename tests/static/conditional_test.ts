/**
 * Conditional requests (conditional.ts, RFC 9110 §13): preconditions in the order of §13.2.2,
 * etag: false, If-Range.
 */
import assert from "node:assert/strict";
import { digits, fetchDir, httpDates, opts, test } from "./_fixture.ts";

// ---- Conditional requests (RFC 9110 §13) ------------------------------------------------------

test("static: conditional requests, in the order of §13.2.2", async () => {
  const first = await fetchDir("/digits.txt");
  const etag = first.response.headers.get("etag")!;
  const lastModified = first.response.headers.get("last-modified")!;
  const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
  const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
  const [, rfc850, asctime] = httpDates(new Date(Date.parse(lastModified)));
  const cases: [HeadersInit, number][] = [
    [{ "if-none-match": etag }, 304],
    [{ "if-none-match": `W/${etag}` }, 304], // weak comparison for If-None-Match
    [{ "if-none-match": `"other", ${etag}` }, 304],
    [{ "if-none-match": `"other",${etag},"more"` }, 304],
    [{ "if-none-match": "*" }, 304],
    [{ "if-none-match": '"other"' }, 200],
    [{ "if-none-match": etag.slice(1, -1) }, 200], // unquoted is not the tag
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-modified-since": rfc850 }, 304],
    [{ "if-modified-since": asctime }, 304],
    [{ "if-modified-since": later }, 304],
    [{ "if-modified-since": earlier }, 200],
    [{ "if-modified-since": "not a date" }, 200],
    [{ "if-modified-since": "2026-01-01" }, 200], // not an HTTP-date
    // If-None-Match wins over If-Modified-Since (§13.1.3).
    [{ "if-none-match": '"other"', "if-modified-since": later }, 200],
    [{ "if-match": etag }, 200],
    [{ "if-match": `"other", ${etag}` }, 200],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"other"' }, 412],
    [{ "if-match": `W/${etag}` }, 412], // strong comparison for If-Match
    [{ "if-unmodified-since": earlier }, 412],
    [{ "if-unmodified-since": lastModified }, 200],
    [{ "if-unmodified-since": later }, 200],
    [{ "if-unmodified-since": "garbage" }, 200],
    [{ "if-match": etag, "if-unmodified-since": earlier }, 200], // If-Match wins
    [{ "if-match": '"other"', "if-none-match": etag }, 412], // 412 is decided first
    [{ "if-match": etag, "if-none-match": etag }, 304],
  ];
  for (const [headers, status] of cases) {
    for (const method of ["GET", "HEAD"]) {
      const { response, body } = await fetchDir("/digits.txt", headers, opts, method);
      assert.equal(response.status, status, `${method} ${JSON.stringify(headers)}`);
      if (status === 304) {
        assert.equal(body.length, 0);
        assert.equal(response.headers.get("etag"), etag);
        assert.equal(response.headers.get("vary"), "Accept-Encoding");
        assert.equal(response.headers.get("content-type"), null);
      }
    }
  }
});

test("static: etag: false sends no ETag; dates still work; tags never match but *", async () => {
  const options = { ...opts, etag: false };
  const { response } = await fetchDir("/digits.txt", {}, options);
  assert.equal(response.headers.get("etag"), null);
  const lastModified = response.headers.get("last-modified")!;
  const cases: [HeadersInit, number][] = [
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-none-match": '"anything"' }, 200],
    [{ "if-none-match": "*" }, 304],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"anything"' }, 412],
    [{ range: "bytes=0-1", "if-range": '"anything"' }, 200],
    [{ range: "bytes=0-1", "if-range": lastModified }, 206],
  ];
  for (const [headers, status] of cases) {
    assert.equal((await fetchDir("/digits.txt", headers, options)).response.status, status);
  }
});

test("static: If-Range decides between the range and the whole file", async () => {
  const { response } = await fetchDir("/digits.txt");
  const etag = response.headers.get("etag")!;
  const lastModified = response.headers.get("last-modified")!;
  const later = new Date(Date.parse(lastModified) + 1000).toUTCString();
  const cases: [string, number][] = [
    [etag, 206],
    ['"old"', 200],
    [`W/${etag}`, 200], // If-Range compares strongly
    [lastModified, 206],
    [httpDates(new Date(Date.parse(lastModified)))[2], 206],
    [later, 200], // a date must match exactly
    ["garbage", 200],
  ];
  for (const [ifRange, status] of cases) {
    const result = await fetchDir("/digits.txt", { range: "bytes=0-1", "if-range": ifRange });
    assert.equal(result.response.status, status, ifRange);
    assert.equal(result.text, status === 206 ? "01" : digits);
  }
});

test("static: validators and dates surrounded by anything but SP and HTAB do not match", async () => {
  const { response } = await fetchDir("/digits.txt");
  const etag = response.headers.get("etag")!;
  const lastModified = response.headers.get("last-modified")!;
  const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
  const nbsp = "\u00a0"; // a latin1 byte, so a request can carry it; trim() would take it for OWS
  const cases: [HeadersInit, number][] = [
    // OWS (SP, HTAB) around list elements is read as before.
    [{ "if-none-match": `"other",\t${etag}` }, 304],
    [{ "if-none-match": `${etag} , "other"` }, 304],
    [{ "if-match": `"other",\t${etag}` }, 200],
    // Anything else is part of the element, which then is no entity-tag we sent.
    [{ "if-none-match": `${nbsp}${etag}` }, 200],
    [{ "if-none-match": `${etag}${nbsp}` }, 200],
    [{ "if-none-match": `"other",${nbsp}${etag}` }, 200],
    [{ "if-none-match": `${nbsp}*` }, 200],
    [{ "if-match": `${nbsp}${etag}` }, 412],
    [{ "if-match": `${nbsp}*` }, 412],
    // And a date with it is no HTTP-date: the condition is ignored.
    [{ "if-modified-since": `${nbsp}${lastModified}` }, 200],
    [{ "if-modified-since": `${lastModified}${nbsp}` }, 200],
    [{ "if-unmodified-since": `${nbsp}${earlier}` }, 200],
    [{ "if-unmodified-since": `${earlier}${nbsp}` }, 200],
    // If-Range: a validator that does not match means the whole file.
    [{ range: "bytes=0-1", "if-range": `${nbsp}${etag}` }, 200],
    [{ range: "bytes=0-1", "if-range": `${nbsp}${lastModified}` }, 200],
    [{ range: "bytes=0-1", "if-range": etag }, 206],
  ];
  for (const [headers, status] of cases) {
    const result = await fetchDir("/digits.txt", headers);
    assert.equal(result.response.status, status, JSON.stringify(headers));
  }
});
