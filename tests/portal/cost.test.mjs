// Prices, when a target stops and the "Keep running until…" control, from the gate's /targets.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clockText,
  idleShutdownText,
  inputValue,
  keepControl,
  keepErrorWords,
  keptWords,
  moneyText,
  priceText,
  scheduleText,
  untilFromInput,
} from "../../portal/js/cost.js";
import { GateError, postKeep } from "../../portal/js/gate.js";
import { mlflowServerRows, notebookRows, studioCards } from "../../portal/js/targets.js";

// A zone east of UTC by a half hour, so a time read as UTC or a whole-hour shift shows up. Node
// reads TZ again when it changes; every Date below is made after this line.
process.env.TZ = "Asia/Kolkata"; // UTC+05:30, no summer time
const NOW = Date.parse("2026-12-05T09:00:00Z"); // 14:30 local, Saturday 5 December
const HOUR = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

test("a time today is the local clock; tomorrow says so; later ones carry their date", () => {
  assert.equal(clockText("2026-12-05T12:30:00Z", NOW), "18:00");
  assert.equal(clockText("2026-12-05T18:29:00Z", NOW), "23:59");
  assert.equal(clockText("2026-12-05T18:30:00Z", NOW), "00:00 tomorrow"); // local midnight, not UTC's
  assert.equal(clockText("2026-12-07T03:15:00Z", NOW), "08:45 on Mon 7 Dec");
  assert.equal(clockText("2027-01-02T06:30:00Z", NOW), "12:00 on Sat 2 Jan 2027");
  // Any offset the gate might send is the same instant.
  assert.equal(clockText("2026-12-05T18:00:00+05:30", NOW), "18:00");
  for (const bad of [undefined, null, "", "soon"]) assert.equal(clockText(bad, NOW), null);
});

test("a running target says when it stops, or until when it is kept", () => {
  assert.equal(scheduleText({ stopsAt: "2026-12-05T12:30:00Z" }, NOW), "Stops at 18:00");
  // The keep decides the stop: one line, the keep's.
  const kept = { stopsAt: "2026-12-06T12:30:00Z", keptUntil: "2026-12-06T12:30:00Z" };
  assert.equal(scheduleText(kept, NOW), "Kept until 18:00 tomorrow");
  // A keep that ends before the limit changes nothing: both are said.
  assert.equal(scheduleText({ stopsAt: "2026-12-05T12:30:00Z", keptUntil: "2026-12-05T10:30:00Z" }, NOW),
    "Stops at 18:00 · Kept until 16:00");
  assert.equal(scheduleText({ keptUntil: "2026-12-05T10:30:00Z" }, NOW), "Kept until 16:00");
  assert.equal(scheduleText({}, NOW), "");
  assert.equal(scheduleText({ stopsAt: "later" }, NOW), "");
});

test("a price is shown as the gate gives it, with what it cost so far", () => {
  assert.equal(priceText({ pricePerHour: 0.05, costSoFar: 1.23 }, "USD", true), "≈ $0.05/h · $1.23 so far");
  assert.equal(priceText({ pricePerHour: 1.408, costSoFar: 0 }, "USD", true), "≈ $1.408/h · $0.00 so far");
  assert.equal(priceText({ pricePerHour: 0.0464 }, "USD", true), "≈ $0.0464/h");
  assert.equal(moneyText(12.5, "USD", 2), "$12.50");
  assert.equal(moneyText(1234.5, "USD", 2), "$1,234.50");
});

test("no price, no currency, a stopped target or a nonsense amount: no price at all, never a zero", () => {
  const priced = { pricePerHour: 0.05, costSoFar: 1.23 };
  assert.equal(priceText({}, "USD", true), "");
  assert.equal(priceText({ costSoFar: 1.23 }, "USD", true), "");
  assert.equal(priceText(priced, undefined, true), "");
  assert.equal(priceText(priced, "dollars", true), "");
  assert.equal(priceText(priced, "USD", false), "");
  for (const bad of [null, "0.05", -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(priceText({ pricePerHour: bad, costSoFar: 1 }, "USD", true), "", String(bad));
  }
  // A cost so far that is not a number drops only that part.
  assert.equal(priceText({ pricePerHour: 0.05, costSoFar: "1.23" }, "USD", true), "≈ $0.05/h");
});

test("a datetime-local value is the browser's local time, sent as RFC 3339 UTC", () => {
  assert.equal(untilFromInput("2026-12-05T18:00"), "2026-12-05T12:30:00Z");
  assert.equal(untilFromInput("2026-12-06T00:15"), "2026-12-05T18:45:00Z"); // the day before in UTC
  assert.equal(untilFromInput("2026-12-05T18:00:30"), "2026-12-05T12:30:30Z");
  assert.equal(untilFromInput("2026-12-05T18:00:30.5"), "2026-12-05T12:30:30Z");
  for (const bad of ["", "  ", null, undefined, "2026-12-05", "18:00", "2026-02-30T10:00", "2026-12-05T24:00",
    "2026-12-05T18:60", "2026-13-01T10:00", "2026-12-05T18:00Z", "tomorrow"]) {
    assert.equal(untilFromInput(bad), null, String(bad));
  }
  // And back: what the field shows for a time is what it sends.
  const value = inputValue(new Date("2026-12-05T12:30:00Z"));
  assert.equal(value, "2026-12-05T18:00");
  assert.equal(untilFromInput(value), "2026-12-05T12:30:00Z");
});

const keepable = (extra = {}) => ({
  keep: "/notebook-instances/nb-1/keep",
  keepUntilMax: iso(NOW + 72 * HOUR),
  stopsAt: "2026-12-05T12:30:00Z", // 18:00 local
  ...extra,
});

test("the keep control runs from now to the gate's latest, offering an hour past the stop", () => {
  const control = keepControl(keepable(), NOW);
  assert.equal(control.path, "/notebook-instances/nb-1/keep");
  assert.equal(control.min, "2026-12-05T14:30");
  assert.equal(control.max, "2026-12-08T14:30");
  // An hour past 18:00 local, on the local hour (13:30 UTC: not a whole UTC hour in this zone).
  assert.equal(control.value, "2026-12-05T19:00");
  const late = keepControl(keepable({ stopsAt: "2026-12-05T12:40:00Z" }), NOW); // 18:10 local
  assert.equal(late.value, "2026-12-05T20:00");
  assert.equal(control.latest, new Date(NOW + 72 * HOUR).toISOString());
});

test("a kept target offers its current keep; the offer never passes the latest allowed", () => {
  const kept = keepControl(keepable({ keptUntil: "2026-12-06T12:30:00Z" }), NOW);
  assert.equal(kept.value, "2026-12-06T18:00");
  const short = keepControl(keepable({ keepUntilMax: iso(NOW + 30 * 60 * 1000) }), NOW);
  assert.equal(short.value, short.max);
  assert.equal(short.value, "2026-12-05T15:00");
  // With no stop time (a keep already past), the offer starts from now.
  const fromNow = keepControl({ keep: "/k", keepUntilMax: iso(NOW + 72 * HOUR), keptUntil: iso(NOW - HOUR) }, NOW);
  assert.equal(fromNow.value, "2026-12-05T16:00"); // 14:30 + 1 h, on the hour
});

test("no keep route, no keep control", () => {
  assert.equal(keepControl({ stopsAt: "2026-12-05T12:30:00Z", keepUntilMax: iso(NOW + HOUR) }, NOW), null);
  assert.equal(keepControl({ keep: "" }, NOW), null);
  assert.equal(keepControl(undefined, NOW), null);
});

test("a refused keep says the gate's message, and for too long the latest time in local time", () => {
  const tooLong = new GateError({
    status: 400,
    code: "keep_too_long",
    message: "keep-until may be at most 2026-12-08T09:00:00Z",
    requestId: "r-1",
  });
  assert.equal(keepErrorWords(tooLong, { name: "nb-1", keepUntilMax: iso(NOW + 72 * HOUR) }, NOW),
    "nb-1 was not kept running. keep-until may be at most 2026-12-08T09:00:00Z. Choose 14:30 on Tue 8 Dec or earlier.");
  const stopped = new GateError({ status: 409, code: "not_running", message: "It is not running." });
  assert.equal(keepErrorWords(stopped, { name: "nb-1" }, NOW), "nb-1 was not kept running. It is not running. Refresh the list to see its state.");
  const past = new GateError({ status: 400, code: "invalid_request" });
  assert.equal(keepErrorWords(past, { name: "nb-1" }, NOW), "nb-1 was not kept running. Choose a time later than now.");
  assert.match(keepErrorWords(new GateError({ status: 403, code: "action_disabled" }), { name: "nb-1" }), /Ask your admin/);
  assert.match(keepErrorWords(new GateError({ status: 404, code: "not_found" }), { name: "nb-1" }), /not yours/);
  // Not the keep's own: said as for any other call.
  for (const other of [{ status: 429, code: "throttled" }, { status: 502, code: "upstream_error", message: "x" }, { code: "unreachable" }]) {
    assert.equal(keepErrorWords(new GateError(other), { name: "nb-1" }, NOW), null, other.code);
  }
});

test("a done keep is said with its time", () => {
  assert.equal(keptWords({ result: "kept", keptUntil: "2026-12-06T12:30:00Z" }, "nb-1", NOW), "nb-1 is kept running until 18:00 tomorrow.");
  assert.equal(keptWords({ result: "kept" }, "nb-1", NOW), "nb-1 is kept running.");
});

test("a domain with idle shutdown says so; one without says nothing", () => {
  assert.equal(idleShutdownText(60), "Idle apps stop after 60 min (SageMaker)");
  for (const none of [undefined, null, 0, -5, 1.5, "60"]) assert.equal(idleShutdownText(none), "", String(none));
});

test("the keep is a POST of {until} as JSON with the token in the header, and its refusal keeps the message", async () => {
  const seen = [];
  const fetchImpl = async (url, init) => {
    seen.push({ url: String(url), init });
    return new Response(JSON.stringify({ error: { code: "keep_too_long", message: "at most 2026-12-08T09:00:00Z", requestId: "r-9" } }),
      { status: 400, headers: { "Content-Type": "application/json" } });
  };
  const refused = await postKeep("https://gate.example/", "/studio/spaces/s/keep?domain=d-1", "tok", "2026-12-09T00:00:00Z", fetchImpl)
    .catch((error) => error);
  assert.ok(refused instanceof GateError);
  assert.deepEqual([refused.status, refused.code, refused.message, refused.requestId], [400, "keep_too_long", "at most 2026-12-08T09:00:00Z", "r-9"]);
  const [{ url, init }] = seen;
  assert.equal(url, "https://gate.example/studio/spaces/s/keep?domain=d-1");
  assert.equal(init.method, "POST");
  assert.equal(init.headers.Authorization, "Bearer tok");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(init.body), { until: "2026-12-09T00:00:00Z" });
  assert.ok(!url.includes("tok"));
});

test("rows carry price, stop time and keep for running targets only", () => {
  const targets = {
    currency: "USD",
    notebookInstances: [
      { name: "on", status: "InService", instanceType: "ml.t3.medium", pricePerHour: 0.05, costSoFar: 1.23, ...keepable() },
      { name: "off", status: "Stopped", instanceType: "ml.t3.medium", pricePerHour: 0.05 },
    ],
    mlflowTrackingServers: [
      { name: "ts", status: "Started", size: "Small", mlflowVersion: "2.16", pricePerHour: 0.642, costSoFar: 3, stopsAt: "2026-12-05T12:30:00Z" },
    ],
    studioDomains: [{ domainId: "d-1", domainName: "research", idleShutdownMinutes: 90, spaces: [] }],
  };
  const [off, on] = notebookRows(targets, NOW);
  assert.equal(on.price, "≈ $0.05/h · $1.23 so far");
  assert.equal(on.schedule, "Stops at 18:00");
  assert.equal(on.keep.path, "/notebook-instances/nb-1/keep");
  assert.deepEqual([off.price, off.schedule, off.keep], ["", "", null]);
  const [server] = mlflowServerRows(targets, NOW);
  assert.equal(server.detail, "MLflow 2.16 · Small");
  assert.equal(server.price, "≈ $0.642/h · $3.00 so far");
  assert.equal(server.schedule, "Stops at 18:00");
  assert.equal(server.keep, null);
  assert.equal(studioCards(targets, NOW)[0].idle, "Idle apps stop after 90 min (SageMaker)");
  // Prices off (no currency in /targets): no price on any row.
  const { currency, ...noPrices } = targets;
  assert.equal(currency, "USD");
  assert.deepEqual(notebookRows(noPrices, NOW).map((r) => r.price), ["", ""]);
});
