// Talking to the gate: its URLs, its answers and its errors in words a person understands.
// No DOM and no globals here, so tests/portal runs it under Node.

/** An answer from the gate (or the way to it) that is not what the portal asked for. */
export class GateError extends Error {
  constructor({ status = 0, code = "unreachable", message = "", requestId = "", retryAfter = 0 }) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

const WORDS = {
  unauthenticated: "Your session has ended. Sign in again to go on.",
  source_not_allowed:
    "Notebooks can only be opened from the company network. Connect to it (for example over the VPN) and try again.",
  // Said for any kind of target (notebook, Studio, space, MLflow): the words name none.
  not_found: "What you opened is not yours, or it no longer exists. Refresh the list to see what you can open.",
  not_running: "It is not running now. Refresh the list to see its state, or ask your admin to start it.",
  throttled: "SageMaker is busy right now. Wait a few seconds and try again.",
  upstream_error: "SageMaker could not answer. Try again in a minute; if it keeps happening, tell your admin.",
  upstream_timeout: "SageMaker took too long to answer. Try again in a minute.",
  action_disabled: "This portal is not set up to let people start or stop things themselves. Ask your admin.",
  not_space_owner: "Only the space's owner can stop its app.",
  state_conflict: "It changed state meanwhile, so this could not be done. Refresh the list to see its state now.",
  platform_retired:
    "It cannot be started: its platform is retired and SageMaker no longer starts it. An administrator must update it to notebook-al2023-v1.",
  domain_unsupported:
    "This Studio domain cannot be opened from this portal: it signs people in another way (IAM Identity Center or SageMaker Unified Studio). Open it from there, or ask your admin.",
  // Not sent to sign in again: the new token would come from the same app, and be refused again.
  wrong_client:
    "The gate does not accept this sign-in: it was made for another app. Sign out and sign in again; if it keeps happening, tell your admin (the portal and the gate are set up with different app clients).",
  invalid_request: "The portal asked for something the gate does not accept. Reload the page and try again.",
  unreachable:
    "The portal cannot reach the gate. Check your connection and try again; if it keeps happening, tell your admin.",
};

/** What to tell the person about `error`, and a reference for their admin when there is one. */
export function describeError(error) {
  const code = error instanceof GateError ? error.code : "unreachable";
  const words = WORDS[code] ?? "Something went wrong. Try again; if it keeps happening, tell your admin.";
  const reference = error instanceof GateError && error.requestId ? `Reference: ${error.requestId}` : "";
  return { code, words, reference };
}

/** The gate's base URL joined with one of its routes (`/targets`, a `launch` path). */
export function gateUrl(apiUrl, route) {
  return new URL(apiUrl.replace(/\/+$/, "") + route);
}

/**
 * A `/launch/...` URL: the route API Gateway authorizes from `access_token` and the gate answers
 * with a redirect into SageMaker, for what navigates without the portal (a bookmark, a link from
 * another tool). The portal itself no longer uses it: a token in a URL stays in the tab's history
 * (see `openTarget`). A private deployment has no `/launch/...` routes at all.
 */
export function launchUrl(apiUrl, launchPath, accessToken, extra = {}) {
  const url = gateUrl(apiUrl, launchPath);
  for (const [key, value] of Object.entries(extra)) {
    if (value) url.searchParams.set(key, value);
  }
  url.searchParams.set("access_token", accessToken);
  return url.toString();
}

/** Turns a non-2xx answer into a GateError, reading the gate's `{"error": {...}}` body when it has one. */
export async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // API Gateway's own answers (an authorizer's 401, a 5xx) are not the gate's JSON.
  }
  const detail = body && typeof body.error === "object" && body.error ? body.error : {};
  const fallback = response.status === 401 ? "unauthenticated" : response.status >= 500 ? "upstream_error" : "invalid_request";
  return new GateError({
    status: response.status,
    code: typeof detail.code === "string" ? detail.code : fallback,
    message: typeof detail.message === "string" ? detail.message : "",
    requestId: typeof detail.requestId === "string" ? detail.requestId : "",
    retryAfter: Number(response.headers.get("Retry-After")) || 0,
  });
}

/**
 * One call to the gate with the access token in the Authorization header (the routes other than
 * `/launch` read it only there), and `body` as JSON when there is one; resolves to the answer's
 * JSON or rejects with a GateError.
 */
async function callGate(apiUrl, route, accessToken, method, fetchImpl, body = undefined) {
  const headers = { Authorization: `Bearer ${accessToken}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetchImpl(gateUrl(apiUrl, route), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new GateError({ code: "unreachable" });
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** A route with `extra` query parameters added (those with a value), e.g. `app`. */
export function withQuery(route, extra = {}) {
  const url = new URL(route, "https://gate.invalid");
  for (const [key, value] of Object.entries(extra)) {
    if (value) url.searchParams.set(key, value);
  }
  return url.pathname + url.search;
}

/**
 * Asks an open route (`/notebook-instances/<name>`, `/studio?space=...`, an MLflow row's `open`)
 * for its presigned URL as JSON, with the access token in the Authorization header, so no token
 * is ever in a URL. Resolves to `{url, expiresAt, target}` (ready: send the tab to `url`) or, while
 * a notebook starts, `{status: "starting", retryAfter, target}` (HTTP 202: ask again later);
 * rejects with a GateError.
 */
export async function openTarget(apiUrl, openPath, accessToken, extra = {}, fetchImpl = fetch) {
  const answer = await callGate(apiUrl, withQuery(openPath, extra), accessToken, "GET", fetchImpl);
  if (answer && typeof answer.url === "string" && /^https?:\/\//.test(answer.url)) return answer;
  if (answer && answer.status === "starting") return { ...answer, retryAfter: Number(answer.retryAfter) || 15 };
  throw new GateError({ status: 200, code: "upstream_error", message: "the gate's answer had no URL" });
}

/** `GET /targets` with the access token; resolves to the gate's list or rejects with a GateError. */
export function fetchTargets(apiUrl, accessToken, fetchImpl = fetch) {
  return callGate(apiUrl, "/targets", accessToken, "GET", fetchImpl);
}

/**
 * `POST` to a start / stop route (`/notebook-instances/<name>/start`, `/studio/spaces/<name>/stop`)
 * with the access token in the Authorization header (never in the URL: these routes change
 * state). Resolves to the gate's answer (`{"result", "status", ...}`) or rejects with a GateError.
 */
export function postAction(apiUrl, path, accessToken, fetchImpl = fetch) {
  return callGate(apiUrl, path, accessToken, "POST", fetchImpl);
}

/**
 * `POST` a keep route (`/notebook-instances/<name>/keep`, a space's or a tracking server's `keep`
 * from `/targets`) with `{"until": <RFC 3339 UTC>}` and the access token in the Authorization
 * header. Resolves to `{"result": "kept", "keptUntil", "stopsAt", "target"}` or rejects with a
 * GateError (400 `keep_too_long` / `invalid_request`, 409 `not_running`, ...) carrying the gate's
 * message. Setting the same time twice is harmless, so a retry after a renewal is safe.
 */
export function postKeep(apiUrl, path, accessToken, until, fetchImpl = fetch) {
  return callGate(apiUrl, path, accessToken, "POST", fetchImpl, { until });
}
