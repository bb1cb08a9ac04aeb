// The portal: sign in, list what the gate says is mine, open it in a new tab (the presigned URL
// from the gate's JSON route, asked for with the token in the header: no token in any URL).

import { loadConfig } from "./config.js";
import { keepErrorWords, keptWords, untilFromInput } from "./cost.js";
import { describeError, fetchTargets, GateError, openTarget, postAction, postKeep } from "./gate.js";
import { actionErrorWords, answerSettling, busyWords, resultWords, settleDelay, settledWords, stillWords } from "./lifecycle.js";
import { currentPlace, displayName, isSignInReturn, Session } from "./session.js";
import { isEmpty, mlflowAppRows, mlflowServerRows, notebookRows, statusBadge, studioCards, uncheckedMlflowNote, uncheckedNote } from "./targets.js";
import * as view from "./view.js";

const APP_CHOICE = "notebook-gate.studio-app"; // sessionStorage: survives a re-sign-in in this tab
// Each Studio card's chosen app, by domain.
const appChoice = {
  get: (domainId) => sessionStorage.getItem(`${APP_CHOICE}.${domainId}`) ?? "studio",
  set: (domainId, app) => sessionStorage.setItem(`${APP_CHOICE}.${domainId}`, app),
};
const MAX_RETRY_AFTER_SECONDS = 10;

let config;
let session;
let user;
// Looking again at rows that are starting or stopping: which look is next, and its timer.
const settle = { attempt: 0, timer: 0 };
// Rows the person started or stopped here ("notebook:alice-gpu"): the page says when they settle.
const watched = new Set();
// Rows whose Start / Stop is under way: a second press waits for the first.
const acting = new Set();

async function main() {
  try {
    config = await loadConfig();
  } catch (error) {
    view.progress("");
    view.problem({ words: `This portal is not set up yet: ${error.message}. An admin writes it with scripts/portal-config.` });
    return;
  }
  session = new Session(config);
  document.getElementById("sign-in").addEventListener("click", () => session.signIn());
  document.getElementById("sign-out").addEventListener("click", () => session.signOut());
  document.getElementById("refresh").addEventListener("click", () => loadTargets());
  session.onEnded(() => session.signIn());

  if (isSignInReturn(window.location.href)) {
    try {
      history.replaceState(null, "", await session.completeSignIn());
    } catch (error) {
      history.replaceState(null, "", "/");
      return view.signedOut(`Sign-in did not complete (${error.error ?? error.message}). Sign in again.`);
    }
  }

  const restored = await session.restore();
  user = restored.user;
  // A session that has run out sends the person back to sign in, to this same place.
  if (restored.ended) return session.signIn(currentPlace(window.location));
  if (!user) return view.signedOut("");
  view.signedIn(displayName(user.profile));
  await loadTargets();
  view.showPlace(window.location.hash);
}

async function loadTargets({ retried = false, settling = false } = {}) {
  clearTimeout(settle.timer);
  if (!settling) {
    settle.attempt = 0; // a Refresh (or an action) starts the looks again from the shortest wait
    view.clearProblem();
  }
  view.loading();
  let targets;
  try {
    targets = await fetchTargets(config.apiUrl, await accessToken());
  } catch (error) {
    // API Gateway's own 401 may come without CORS headers, which a browser reports as a network
    // failure: so both are answered by renewing the token once and trying again.
    if (error instanceof GateError && (error.code === "unauthenticated" || error.code === "unreachable") && !retried) {
      if (await session.renew()) return loadTargets({ retried: true, settling });
      return session.signIn(currentPlace(window.location));
    }
    if (error instanceof GateError && error.code === "unauthenticated") {
      return session.signIn(currentPlace(window.location));
    }
    if (error instanceof GateError && error.code === "throttled" && !retried) {
      const seconds = Math.min(error.retryAfter || 2, MAX_RETRY_AFTER_SECONDS);
      view.progress(`SageMaker is busy; trying again in ${seconds} seconds…`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return loadTargets({ retried: true, settling });
    }
    view.progress("");
    return view.problem(describeError(error), () => loadTargets());
  }
  const empty = isEmpty(targets);
  const now = Date.now();
  const notebooks = notebookRows(targets, now);
  const studios = studioCards(targets, now);
  const mlflow = { servers: mlflowServerRows(targets, now), apps: mlflowAppRows(targets), unchecked: uncheckedMlflowNote(targets) };
  view.targets(
    {
      notebooks,
      unchecked: uncheckedNote(targets),
      studios,
      mlflow,
      empty,
      userId: user.profile.sub,
    },
    open,
    act,
    appChoice,
    keep,
  );
  view.progress("");
  followSettling([...notebooks, ...studios.flatMap((card) => card.spaces), ...mlflow.servers, ...mlflow.apps]);
}

const rowKey = (row) => row.key; // targets.js: unique across kinds and Studio domains

/**
 * While some row is starting or stopping, looks again on a bounded back-off (lifecycle.js's
 * SETTLE_DELAYS_SECONDS), then stops and says so; says when a row the person acted on settles.
 */
function followSettling(rows) {
  for (const row of rows) {
    if (watched.has(rowKey(row)) && !row.settling) {
      watched.delete(rowKey(row));
      view.activity(settledWords(row));
    }
  }
  const changing = rows.filter((row) => row.settling);
  if (changing.length === 0) return;
  const delay = settleDelay(settle.attempt);
  if (delay === null) {
    view.activity(stillWords(changing));
    return;
  }
  settle.attempt += 1;
  settle.timer = setTimeout(() => loadTargets({ settling: true }), delay * 1000);
}

/** Calls the gate with a fresh token; a token it refuses (or a 401 without CORS) is renewed once. */
async function withToken(call) {
  try {
    return await call(await accessToken());
  } catch (error) {
    const renewable = error instanceof GateError && (error.code === "unauthenticated" || error.code === "unreachable");
    if (renewable && (await session.renew())) return call(await accessToken());
    throw error;
  }
}

/**
 * A row's Start / Stop: asks first when something will stop, shows the row busy while the gate
 * acts, then its new status; a row on its way to a new state is then looked at again until it
 * settles. The start and stop routes are idempotent, so a retry after a renewal is safe.
 */
async function act(row, button) {
  const { control } = row;
  if (acting.has(rowKey(row))) return;
  if (control.confirm && !(await view.confirmAction(control.confirm, button))) return;
  acting.add(rowKey(row));
  try {
    await carryOut(row, control);
  } finally {
    acting.delete(rowKey(row));
  }
}

/** Sends the start or stop, then shows the answer (or the refusal, leaving the row as it was). */
async function carryOut(row, control) {
  view.clearProblem();
  const busy = busyWords(control.action, row.name);
  view.markBusy(row.key, busy);
  view.activity(busy);
  let answer;
  try {
    answer = await withToken((token) => postAction(config.apiUrl, control.path, token));
  } catch (error) {
    view.unmarkBusy(row.key, control.label);
    view.activity("");
    if (error instanceof GateError && error.code === "unauthenticated") {
      return session.signIn(currentPlace(window.location));
    }
    const described = describeError(error);
    const words = error instanceof GateError ? actionErrorWords(error, { action: control.action, name: row.name }) : null;
    return view.problem(words ? { ...described, words } : described);
  }
  view.markStatus(row.key, statusBadge(row.kind, answer.status));
  view.activity(resultWords(answer, row.name));
  if (!answerSettling(answer)) return loadTargets(); // nothing on its way: draw the row as it is
  followFrom(row);
}

/**
 * A row's "Keep running until…": sends the chosen local time as RFC 3339 UTC to the row's keep
 * route, then draws the list again (it then says "Kept until …"). A refusal is said in words with
 * the gate's own message (too long names the latest time allowed) and the chosen time stays.
 */
async function keep(row, value, button) {
  const key = `keep:${rowKey(row)}`;
  if (acting.has(key)) return;
  view.clearProblem();
  const until = untilFromInput(value);
  if (!until) {
    view.problem({ words: `Choose the date and time to keep ${row.name} running until.` });
    button.form?.querySelector(".keep-until")?.focus();
    return;
  }
  acting.add(key);
  view.markKeeping(row.key, true);
  try {
    const answer = await withToken((token) => postKeep(config.apiUrl, row.keep.path, token, until));
    view.activity(keptWords(answer, row.name, Date.now()));
    await loadTargets();
  } catch (error) {
    view.activity("");
    if (error instanceof GateError && error.code === "unauthenticated") {
      return session.signIn(currentPlace(window.location));
    }
    const described = describeError(error);
    const words = error instanceof GateError ? keepErrorWords(error, { name: row.name, keepUntilMax: row.keep.latest }) : null;
    view.problem(words ? { ...described, words } : described);
  } finally {
    acting.delete(key);
    view.markKeeping(row.key, false);
  }
}

/** Starts the looks at `row` afresh (it has just been started or stopped), and says when it settles. */
function followFrom(row) {
  watched.add(rowKey(row));
  clearTimeout(settle.timer);
  settle.attempt = 1;
  settle.timer = setTimeout(() => loadTargets({ settling: true }), settleDelay(0) * 1000);
}

async function accessToken() {
  try {
    return await session.freshAccessToken();
  } catch {
    throw new GateError({ status: 401, code: "unauthenticated" });
  }
}

// How long a tab waits for a starting notebook (or MLflow server): asks again after the gate's
// Retry-After (at most a minute apart), for up to 20 minutes, then says to try again later.
const OPEN_WAIT_MS = 20 * 60 * 1000;
const MAX_ASK_AGAIN_SECONDS = 60;

/**
 * Opens a target in a new tab, with no token in any URL (the tab's history, the browser's history
 * database and every request URL stay free of it). The tab is opened at once, inside the click (a
 * tab opened after an await is a pop-up that browsers block), on a blank page of this origin that
 * says what is happening; the portal asks the target's JSON route for the presigned URL with the
 * token in the Authorization header (what a private deployment's authorizer reads, and all it
 * reads), then sends the tab there. While a notebook starts (202) the tab says so and the route is
 * asked again after Retry-After. A refusal closes the tab and is said here in words. Every row
 * (notebook, Studio, space, MLflow) opens through this one function.
 */
function open(row) {
  const tab = window.open("about:blank", "_blank");
  if (!tab) {
    view.problem({ words: "Your browser blocked the new tab. Allow pop-ups for this site, then press Open again." });
    return;
  }
  tab.opener = null; // the notebook's page gets no handle on the portal
  view.clearProblem();
  tabSays(tab, `Opening ${row.name}…`, "The portal is asking for a link to it. This tab goes there by itself.");
  openInto(tab, row, Date.now() + OPEN_WAIT_MS).catch((error) => {
    tab.close();
    if (error instanceof GateError && error.code === "unauthenticated") {
      return session.signIn(currentPlace(window.location));
    }
    view.problem(describeError(error));
  });
}

async function openInto(tab, row, giveUpAt) {
  let marked = false;
  for (;;) {
    const answer = await withToken((token) => openTarget(config.apiUrl, row.open, token, { app: row.app }));
    if (row.starts && !marked) {
      marked = true;
      view.markStarting(row.key);
      followFrom(row);
    }
    if (answer.url) {
      if (!tab.closed) tab.location.replace(answer.url); // replace: the blank page leaves no history entry
      return;
    }
    if (tab.closed) return; // the person closed the tab: stop asking
    const seconds = Math.min(answer.retryAfter, MAX_ASK_AGAIN_SECONDS);
    if (Date.now() + seconds * 1000 > giveUpAt) {
      tabSays(tab, `${row.name} is still starting.`, "Close this tab and press Open again in a few minutes.");
      return;
    }
    tabSays(tab, `${row.name} is starting…`, `This tab opens it once it is running; it looks again every ${seconds} seconds.`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

/** Words in the waiting tab (a blank page of this origin: text only, nothing that runs). */
function tabSays(tab, heading, words) {
  try {
    const page = tab.document;
    page.title = heading;
    if (!page.querySelector("link[rel=stylesheet]")) {
      // The portal's own stylesheet (the blank page shares its origin and its policy).
      page.documentElement.lang = "en";
      page.head.append(Object.assign(page.createElement("link"), { rel: "stylesheet", href: new URL("style.css", window.location.href).href }));
    }
    const main = page.createElement("main");
    main.id = "opening";
    main.className = "panel";
    main.setAttribute("role", "status");
    const title = page.createElement("h1");
    title.textContent = heading;
    const text = page.createElement("p");
    text.textContent = words;
    main.append(title, text);
    page.body.replaceChildren(main);
  } catch {
    // The tab has left this origin (it is on its way to the notebook): nothing to say there.
  }
}

main().catch((error) => {
  view.progress("");
  view.problem(describeError(error), () => window.location.reload());
});
