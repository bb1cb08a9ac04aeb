// The portal: sign in, list what the gate says is mine, open it in a new tab through `/launch/...`.

import { loadConfig } from "./config.js";
import { describeError, fetchTargets, GateError, launchUrl } from "./gate.js";
import { currentPlace, displayName, isSignInReturn, Session } from "./session.js";
import { isEmpty, notebookRows, spaceRows, uncheckedNote } from "./targets.js";
import * as view from "./view.js";

const APP_CHOICE = "notebook-gate.studio-app"; // sessionStorage: survives a re-sign-in in this tab
const STARTED_REFRESH_MS = 10_000;
const MAX_RETRY_AFTER_SECONDS = 10;

let config;
let session;
let user;

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
  document.getElementById("open-studio").addEventListener("click", openStudio);
  const chooser = document.getElementById("studio-app");
  view.fillAppChooser(sessionStorage.getItem(APP_CHOICE) ?? "studio");
  chooser.addEventListener("change", () => sessionStorage.setItem(APP_CHOICE, chooser.value));
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

async function loadTargets({ retried = false } = {}) {
  view.clearProblem();
  view.loading();
  let targets;
  try {
    targets = await fetchTargets(config.apiUrl, await accessToken());
  } catch (error) {
    // API Gateway's own 401 may come without CORS headers, which a browser reports as a network
    // failure: so both are answered by renewing the token once and trying again.
    if (error instanceof GateError && (error.code === "unauthenticated" || error.code === "unreachable") && !retried) {
      if (await session.renew()) return loadTargets({ retried: true });
      return session.signIn(currentPlace(window.location));
    }
    if (error instanceof GateError && error.code === "unauthenticated") {
      return session.signIn(currentPlace(window.location));
    }
    if (error instanceof GateError && error.code === "throttled" && !retried) {
      const seconds = Math.min(error.retryAfter || 2, MAX_RETRY_AFTER_SECONDS);
      view.progress(`SageMaker is busy; trying again in ${seconds} seconds…`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return loadTargets({ retried: true });
    }
    view.progress("");
    return view.problem(describeError(error), () => loadTargets());
  }
  const empty = isEmpty(targets);
  view.targets(
    {
      notebooks: notebookRows(targets),
      unchecked: uncheckedNote(targets),
      spaces: spaceRows(targets.studio),
      studio: targets.studio,
      empty,
      userId: user.profile.sub,
    },
    open,
  );
  view.progress("");
}

async function accessToken() {
  try {
    return await session.freshAccessToken();
  } catch {
    throw new GateError({ status: 401, code: "unauthenticated" });
  }
}

function openStudio() {
  open({ launch: "/launch/studio", app: document.getElementById("studio-app").value });
}

/**
 * Opens a target in a new tab. The tab is opened at once, inside the click (a tab opened after an
 * await is a pop-up that browsers block), then sent to the gate once a fresh token is at hand.
 */
function open(row) {
  const tab = window.open("", "_blank");
  if (!tab) {
    view.problem({ words: "Your browser blocked the new tab. Allow pop-ups for this site, then press Open again." });
    return;
  }
  tab.opener = null; // the notebook's page gets no handle on the portal
  accessToken().then(
    (token) => {
      tab.location.replace(launchUrl(config.apiUrl, row.launch, token, { app: row.app }));
      if (row.starts) {
        view.markStarting(row.name);
        setTimeout(() => loadTargets(), STARTED_REFRESH_MS);
      }
    },
    () => {
      tab.close();
      session.signIn(currentPlace(window.location));
    },
  );
}

main().catch((error) => {
  view.progress("");
  view.problem(describeError(error), () => window.location.reload());
});
