// Opening a target through the gate's JSON route: the token only ever in the
// Authorization header, the stage path of a REST API kept, a 202 while a notebook starts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { GateError, openTarget, withQuery } from "../../portal/js/gate.js";

const PRIVATE_API = "https://a1b2c3d4e5-vpce-0e0e0e0e0e0e0e0e0.execute-api.eu-west-1.amazonaws.com/api";
const TOKEN = "eyJhbGciOi.access.token";

function recorder(status, body) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url: String(url), init });
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  return { calls, fetchImpl };
}

test("the open route is asked for JSON with the token in the header and never in the URL", async () => {
  const presigned = "https://d-abc.studio.eu-west-1.sagemaker.aws/auth?token=sagemakers-own";
  const { calls, fetchImpl } = recorder(200, { url: presigned, expiresAt: "2026-11-27T17:00:00Z", target: {} });
  const answer = await openTarget(PRIVATE_API, "/studio?space=alice-private", TOKEN, { app: "jupyterlab" }, fetchImpl);
  assert.equal(answer.url, presigned);
  assert.equal(calls.length, 1);
  const url = new URL(calls[0].url);
  assert.equal(url.pathname, "/api/studio"); // the REST API's stage path is kept
  assert.equal(url.searchParams.get("space"), "alice-private");
  assert.equal(url.searchParams.get("app"), "jupyterlab");
  assert.ok(!calls[0].url.includes(TOKEN) && !url.searchParams.has("access_token"));
  assert.equal(calls[0].init.headers.Authorization, `Bearer ${TOKEN}`);
  assert.equal(calls[0].init.headers.Accept, "application/json");
  assert.equal(calls[0].init.method, "GET");
});

test("a notebook that is starting answers 202 with when to ask again", async () => {
  const { fetchImpl } = recorder(202, { status: "starting", retryAfter: 15, target: { name: "alice-gpu" } });
  const answer = await openTarget(PRIVATE_API, "/notebook-instances/alice-gpu", TOKEN, {}, fetchImpl);
  assert.equal(answer.url, undefined);
  assert.equal(answer.retryAfter, 15);
});

test("a refusal is a GateError with the gate's code, and an answer without a URL is not followed", async () => {
  const refused = recorder(404, { error: { code: "not_found", message: "x", requestId: "r-1" } });
  await assert.rejects(openTarget(PRIVATE_API, "/notebook-instances/bob-reports", TOKEN, {}, refused.fetchImpl),
    (error) => error instanceof GateError && error.code === "not_found" && error.requestId === "r-1");
  const odd = recorder(200, { url: "javascript:alert(1)" });
  await assert.rejects(openTarget(PRIVATE_API, "/studio", TOKEN, {}, odd.fetchImpl), GateError);
});

test("extra query parameters are added only with a value, after the route's own", () => {
  assert.equal(withQuery("/studio?space=s&domain=d-1", { app: "codeeditor" }), "/studio?space=s&domain=d-1&app=codeeditor");
  assert.equal(withQuery("/notebook-instances/nb-1", { app: "" }), "/notebook-instances/nb-1");
});
