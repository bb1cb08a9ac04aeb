// Starting and stopping: buttons, running time, the back-off and the words.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  actionErrorWords,
  answerSettling,
  durationText,
  notebookControl,
  resultWords,
  runningSummary,
  SETTLE_DELAYS_SECONDS,
  settleDelay,
  settledWords,
  spaceControl,
  stillWords,
} from "../../portal/js/lifecycle.js";
import { GateError, postAction } from "../../portal/js/gate.js";
import { notebookRows, spaceRows } from "../../portal/js/targets.js";

const NOW = Date.parse("2026-11-27T14:00:00Z");
const BOTH = { lifecycle: ["start", "stop"], longRunningSeconds: 8 * 3600 };
const nb = (name, status, extra = {}) => ({
  name,
  status,
  instanceType: "ml.g5.xlarge",
  launch: `/launch/notebook-instances/${name}`,
  start: `/notebook-instances/${name}/start`,
  stop: `/notebook-instances/${name}/stop`,
  ...extra,
});

test("durations read as a person says them", () => {
  assert.equal(durationText(0), "less than a minute");
  assert.equal(durationText(59), "less than a minute");
  assert.equal(durationText(60), "1 min");
  assert.equal(durationText(45 * 60 + 59), "45 min");
  assert.equal(durationText(3 * 3600), "3 h");
  assert.equal(durationText(3 * 3600 + 12 * 60 + 30), "3 h 12 min");
  assert.equal(durationText(2 * 86400 + 5 * 3600 + 59 * 60), "2 d 5 h");
  assert.equal(durationText(86400), "1 d");
  assert.equal(durationText(Number.NaN), "less than a minute");
});

test("a running notebook says since when and on what; a stopped one only what", () => {
  const since = new Date(NOW - (3 * 3600 + 12 * 60) * 1000).toISOString();
  assert.deepEqual(runningSummary({ status: "InService", since, instanceType: "ml.g5.xlarge" }, 28800, NOW),
    { text: "Running for 3 h 12 min · ml.g5.xlarge", longRunning: false, flag: "" });
  assert.equal(runningSummary({ status: "Stopped", since, instanceType: "ml.t3.medium" }, 28800, NOW).text, "ml.t3.medium");
  // No time from SageMaker, or one that does not parse: no running time, never "NaN".
  for (const bad of [null, undefined, "", "yesterday"]) {
    assert.equal(runningSummary({ status: "InService", since: bad, instanceType: "ml.t3.medium" }, 28800, NOW).text, "ml.t3.medium");
  }
});

test("anything on for longer than the threshold is marked, in words", () => {
  const nineHours = new Date(NOW - 9 * 3600 * 1000).toISOString();
  const long = runningSummary({ status: "InService", since: nineHours, instanceType: "ml.g5.xlarge" }, 28800, NOW);
  assert.equal(long.longRunning, true);
  assert.match(long.flag, /more than 8 h/);
  const sevenHours = new Date(NOW - 7 * 3600 * 1000).toISOString();
  assert.equal(runningSummary({ status: "InService", since: sevenHours }, 28800, NOW).longRunning, false);
  // A stopped one costs nothing however long ago it changed; no threshold marks nothing.
  assert.equal(runningSummary({ status: "Stopped", since: nineHours }, 28800, NOW).longRunning, false);
  assert.equal(runningSummary({ status: "InService", since: nineHours }, undefined, NOW).longRunning, false);
});

test("the back-off is bounded: 5, 10, 20, 30 s, then no more looks", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(settleDelay), [5, 10, 20, 30, null, null]);
  assert.deepEqual(SETTLE_DELAYS_SECONDS, [5, 10, 20, 30]);
  assert.equal(settleDelay(-1), null);
  assert.equal(settleDelay(1.5), null);
  // Strictly longer waits, and the whole wait is bounded to about a minute.
  assert.ok(SETTLE_DELAYS_SECONDS.every((d, i) => i === 0 || d > SETTLE_DELAYS_SECONDS[i - 1]));
  assert.equal(SETTLE_DELAYS_SECONDS.reduce((a, b) => a + b), 65);
});

test("a stopped notebook gets Start, a running one Stop (asking first); others nothing", () => {
  assert.deepEqual(notebookControl(nb("a", "Stopped"), BOTH), { action: "start", label: "Start", path: "/notebook-instances/a/start", confirm: null });
  const stop = notebookControl(nb("a", "InService"), BOTH);
  assert.equal(stop.action, "stop");
  assert.equal(stop.path, "/notebook-instances/a/stop");
  assert.equal(stop.confirm.title, "Stop a?");
  assert.match(stop.confirm.words, /The notebook instance a \(ml\.g5\.xlarge\) stops/);
  for (const status of ["Pending", "Stopping", "Updating", "Failed", "Deleting"]) {
    assert.equal(notebookControl(nb("a", status), BOTH), null, status);
  }
});

test("stopping a notebook shared with a group says everyone in the group loses their work", () => {
  const shared = notebookControl(nb("ml-team-shared", "InService", { instanceType: "ml.t3.medium", sharedWith: "ml-team" }), BOTH);
  assert.equal(shared.confirm.title, "Stop ml-team-shared?");
  assert.equal(shared.confirm.words,
    "The notebook instance ml-team-shared (ml.t3.medium) stops. It is shared with ml-team: everyone in ml-team " +
    "using it loses their running work (running kernels and anything not saved). Its files stay, and it can be started again.");
  assert.equal(shared.confirm.button, "Stop ml-team-shared");
  // One of the person's own keeps today's words, and names no group.
  const own = notebookControl(nb("alice-analysis", "InService"), BOTH);
  assert.equal(own.confirm.words,
    "The notebook instance alice-analysis (ml.g5.xlarge) stops: its running kernels and anything not saved are lost. " +
    "Its files stay, and it can be started again.");
  assert.doesNotMatch(own.confirm.words, /everyone|shared/i);
  assert.equal(notebookControl(nb("a", "InService", { sharedWith: "" }), BOTH).confirm.words, notebookControl(nb("a", "InService"), BOTH).confirm.words);
});

test("a retired platform gets no Start, and its stop does not promise it can start again", () => {
  // The gate gives no start route then; were one there, it is still not offered.
  assert.equal(notebookControl(nb("old", "Stopped", { platform: "notebook-al2-v2", platformRetired: true }), BOTH), null);
  assert.equal(notebookControl(nb("new", "Stopped", { platform: "notebook-al2023-v1", platformRetired: false }), BOTH).action, "start");
  const stop = notebookControl(nb("old", "InService", { platformRetired: true }), BOTH);
  assert.match(stop.confirm.words, /cannot be started again until an administrator updates it\.$/);
  assert.doesNotMatch(stop.confirm.words, /it can be started again/);
});

test("a disabled action offers no button, whether the deployment or the route says so", () => {
  assert.equal(notebookControl(nb("a", "Stopped"), { lifecycle: ["stop"] }), null);
  assert.equal(notebookControl(nb("a", "InService"), { lifecycle: ["start"] }), null);
  assert.equal(notebookControl(nb("a", "InService"), { lifecycle: [] }), null);
  assert.equal(notebookControl(nb("a", "InService"), {}), null); // a gate that says nothing of lifecycle
  assert.equal(notebookControl(nb("a", "Stopped", { start: undefined }), BOTH), null);
  assert.equal(notebookControl(nb("a", "InService", { stop: undefined }), BOTH), null);
});

const studio = { userProfile: "alice" };
const space = (name, app, extra = {}) => ({
  name, shared: false, ownerProfile: "alice", status: "InService", appType: "JupyterLab",
  launch: `/launch/studio?space=${name}`, stop: `/studio/spaces/${name}/stop`, app, ...extra,
});
const app = (status) => ({ appType: "JupyterLab", appName: "default", status, instanceType: "ml.t3.medium", since: "2026-11-27T13:00:00Z" });

test("a space's running or starting app gets Stop; a shared space's only for its owner", () => {
  const { control } = spaceControl(space("mine", app("InService")), studio, BOTH);
  assert.equal(control.path, "/studio/spaces/mine/stop");
  assert.match(control.confirm.title, /JupyterLab app in mine/);
  assert.match(control.confirm.words, /The space and its files stay/);
  assert.ok(spaceControl(space("mine", app("Pending")), studio, BOTH).control);
  for (const status of ["Deleting", "Deleted", "Failed"]) {
    assert.equal(spaceControl(space("mine", app(status)), studio, BOTH).control, null, status);
  }
  assert.equal(spaceControl(space("mine", null), studio, BOTH).control, null);
  assert.equal(spaceControl(space("mine", app("InService")), studio, { lifecycle: ["start"] }).control, null);

  const owned = spaceControl(space("team", app("InService"), { shared: true }), studio, BOTH);
  assert.match(owned.control.confirm.words, /for everyone working in this shared space/);
  const others = spaceControl(space("team", app("InService"), { shared: true, ownerProfile: "bob" }), studio, BOTH);
  assert.deepEqual(others, { control: null, note: "Only its owner, bob, can stop its app." });
  // The gate leaves the route out for anyone but the owner: the note still says why.
  const noRoute = spaceControl(space("team", app("InService"), { shared: true, ownerProfile: "bob", stop: undefined }), studio, BOTH);
  assert.deepEqual(noRoute, { control: null, note: "Only its owner, bob, can stop its app." });
  assert.equal(spaceControl(space("mine", app("InService"), { stop: undefined }), studio, BOTH).control, null);
});

test("rows carry their control, running time, long-running mark and whether they are settling", () => {
  const since = new Date(NOW - 10 * 3600 * 1000).toISOString();
  const rows = notebookRows({ ...BOTH, notebookInstances: [nb("b", "Stopped"), nb("a", "InService", { since }), nb("c", "Pending")] }, NOW);
  assert.deepEqual(rows.map((r) => [r.name, r.control?.action ?? null, r.settling]), [["a", "stop", false], ["b", "start", false], ["c", null, true]]);
  assert.equal(rows[0].detail, "Running for 10 h · ml.g5.xlarge");
  assert.notEqual(rows[0].flag, "");
  // With its own Start, a stopped notebook no longer says "ask your admin".
  assert.match(rows[1].action.note, /Start it/);
  const spaces = spaceRows({ userProfile: "alice", spaces: [space("s", app("Deleting")), space("r", app("InService"))] }, BOTH, NOW);
  assert.deepEqual(spaces.map((r) => [r.name, r.badge.label, r.settling, Boolean(r.control)]),
    [["r", "Running", false, true], ["s", "Stopping…", true, false]]);
  assert.equal(spaces[0].detail, "Private space · JupyterLab · Running for 1 h · ml.t3.medium");
  // A stopped app's instance type is no longer the space's.
  const [stopped] = spaceRows({ userProfile: "alice", spaces: [space("s", app("Deleted"))] }, BOTH, NOW);
  assert.deepEqual([stopped.detail, stopped.badge.label, stopped.settling], ["Private space · JupyterLab", "Ready", false]);
});

test("answers and refusals are said in words", () => {
  assert.equal(resultWords({ result: "started", status: "Pending" }, "a"), "a is starting. This page will show when it is running.");
  assert.equal(resultWords({ result: "already stopped", status: "Stopped" }, "a"), "a is already stopped.");
  assert.equal(answerSettling({ result: "stopping" }), true);
  assert.equal(answerSettling({ result: "already running" }), false);
  const refused = (status, code, extra = {}) => actionErrorWords(new GateError({ status, code, ...extra }), { action: "stop", name: "a" });
  assert.match(refused(403, "action_disabled"), /not set up to let people stop/);
  assert.match(refused(403, "not_space_owner"), /Only the owner of a/);
  assert.match(refused(404, "not_found"), /a is not yours, or it no longer exists/);
  assert.equal(refused(429, "throttled", { retryAfter: 7 }), "SageMaker is busy right now. Try again in 7 seconds.");
  assert.equal(refused(409, "state_conflict", { message: "The notebook instance is Updating." }),
    "a cannot be stopped while it is updating. Refresh the list to see its state.");
  assert.match(refused(409, "not_running", { message: "no state here" }), /in the state it is in now/);
  // Someone else got there between the gate's read and its call: no state to name.
  assert.equal(refused(409, "state_conflict", { message: "It changed state while this request was on its way; refresh and try again." }),
    "a changed state meanwhile. Refresh the list to see its state now.");
  const start = (code) => actionErrorWords(new GateError({ status: 409, code }), { action: "start", name: "old" });
  assert.equal(start("platform_retired"),
    "old cannot be started: its platform is retired. An administrator must update it to notebook-al2023-v1.");
  assert.equal(refused(502, "upstream_error"), null); // said as for any other call
});

test("the page says when a row settles, and when it stops looking", () => {
  assert.equal(settledWords({ kind: "notebook", name: "a", badge: { label: "Running" } }), "a is running now.");
  assert.equal(settledWords({ kind: "space", name: "s", badge: { label: "Ready" } }), "The app in s has stopped.");
  assert.equal(stillWords([{ kind: "notebook", name: "a", badge: { label: "Starting…" } }]),
    "a is still starting. Press Refresh to see whether it is done.");
  assert.equal(stillWords([{ kind: "notebook", name: "a", badge: { label: "Stopping…" } }, { kind: "space", name: "s", badge: { label: "Stopping…" } }]),
    "a is still stopping. The app in s is still stopping. Press Refresh to see whether they are done.");
});

test("a start or stop is a POST with the token in the Authorization header, never the URL", async () => {
  const seen = [];
  const fetchImpl = async (url, init) => {
    seen.push({ url: url.toString(), init });
    return new Response(JSON.stringify({ result: "stopping", status: "Stopping", retryAfter: 15 }), { status: 202 });
  };
  const answer = await postAction("https://api.example/prod/", "/notebook-instances/a/stop", "tok.en", fetchImpl);
  assert.equal(answer.result, "stopping");
  assert.equal(seen[0].url, "https://api.example/prod/notebook-instances/a/stop");
  assert.equal(seen[0].init.method, "POST");
  assert.equal(seen[0].init.headers.Authorization, "Bearer tok.en");
  assert.ok(!seen[0].url.includes("tok.en"));
  const refused = async () => new Response(JSON.stringify({ error: { code: "not_space_owner", message: "m", requestId: "r1" } }), { status: 403 });
  await assert.rejects(postAction("https://api.example", "/studio/spaces/t/stop", "t", refused),
    (error) => error instanceof GateError && error.code === "not_space_owner" && error.status === 403 && error.requestId === "r1");
  const down = async () => { throw new TypeError("failed to fetch"); };
  await assert.rejects(postAction("https://api.example", "/x", "t", down), (error) => error.code === "unreachable");
});
