// The portal's talk with the gate, under Node's own test runner (no npm packages needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { describeError, errorFrom, fetchTargets, GateError, launchUrl } from "../../portal/js/gate.js";

const API = "https://abc.execute-api.eu-west-1.amazonaws.com";

function answer(status, body, headers = {}) {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers });
}

test("launch URLs carry the token and the app on the gate's launch route", () => {
  const url = new URL(launchUrl(`${API}/`, "/launch/studio?space=alice-private", "tok.en.x", { app: "jupyterlab" }));
  assert.equal(url.origin + url.pathname, `${API}/launch/studio`);
  assert.equal(url.searchParams.get("space"), "alice-private");
  assert.equal(url.searchParams.get("app"), "jupyterlab");
  assert.equal(url.searchParams.get("access_token"), "tok.en.x");
});

test("a REST API stage path is kept and an empty app is left out", () => {
  const url = new URL(launchUrl(`${API}/prod`, "/launch/notebook-instances/nb-1", "t", { app: "" }));
  assert.equal(url.pathname, "/prod/launch/notebook-instances/nb-1");
  assert.equal(url.searchParams.has("app"), false);
});

test("the gate's error body becomes words, with its request id as a reference", async () => {
  const error = await errorFrom(answer(429, { error: { code: "throttled", message: "x", requestId: "req-1" } }, { "Retry-After": "2" }));
  assert.equal(error.code, "throttled");
  assert.equal(error.retryAfter, 2);
  const { words, reference } = describeError(error);
  assert.match(words, /busy/);
  assert.equal(reference, "Reference: req-1");
  assert.doesNotMatch(words, /throttled/);
});

test("API Gateway's own 401 and 5xx bodies still get a code", async () => {
  assert.equal((await errorFrom(answer(401, { message: "Unauthorized" }))).code, "unauthenticated");
  assert.equal((await errorFrom(answer(502, "Bad Gateway"))).code, "upstream_error");
  assert.equal((await errorFrom(answer(400, "nope"))).code, "invalid_request");
});

test("every error code the gate documents has its own words", () => {
  const codes = ["unauthenticated", "source_not_allowed", "not_found", "not_running", "throttled",
    "upstream_error", "upstream_timeout", "invalid_request", "unreachable", "action_disabled", "not_space_owner",
    "state_conflict", "platform_retired", "domain_unsupported", "wrong_client"];
  const words = codes.map((code) => describeError(new GateError({ code })).words);
  assert.equal(new Set(words).size, codes.length);
  assert.match(describeError(new GateError({ code: "something_new" })).words, /Something went wrong/);
});

test("the newer refusals are said in words a person can act on", () => {
  const words = (code) => describeError(new GateError({ code })).words;
  assert.match(words("platform_retired"), /platform is retired.*administrator must update it to notebook-al2023-v1/);
  assert.match(words("domain_unsupported"), /cannot be opened from this portal/);
  assert.match(words("state_conflict"), /changed state meanwhile.*Refresh/);
  // A token for another app client: said so, with what to do (signing in again here may fix it).
  assert.match(words("wrong_client"), /another app.*Sign out and sign in again/);
  for (const code of ["platform_retired", "domain_unsupported", "state_conflict", "wrong_client"]) {
    assert.doesNotMatch(words(code), new RegExp(code), code); // never the bare code
  }
});

test("the gate's 401 wrong_client keeps its code (it is not an ordinary expired session)", async () => {
  const error = await errorFrom(answer(401, { error: { code: "wrong_client", message: "m", requestId: "r" } }));
  assert.equal(error.code, "wrong_client");
  assert.equal(error.status, 401);
});

test("fetchTargets sends the token as a bearer and no cookies", async () => {
  let seen;
  const targets = await fetchTargets(API, "tok", async (url, init) => {
    seen = { url: String(url), init };
    return answer(200, { notebookInstances: [], studio: null, autoStart: false });
  });
  assert.equal(seen.url, `${API}/targets`);
  assert.equal(seen.init.headers.Authorization, "Bearer tok");
  assert.equal(seen.init.credentials, "omit");
  assert.deepEqual(targets.notebookInstances, []);
});

test("a network failure (or a CORS refusal) is 'unreachable'", async () => {
  await assert.rejects(
    fetchTargets(API, "tok", async () => { throw new TypeError("Failed to fetch"); }),
    (error) => error instanceof GateError && error.code === "unreachable",
  );
});

test("a refused open is said without naming a kind of target (notebooks, Studio and MLflow share it)", () => {
  for (const code of ["not_found", "not_running"]) {
    assert.doesNotMatch(describeError(new GateError({ code })).words, /notebook|studio|space|mlflow/i, code);
  }
});
