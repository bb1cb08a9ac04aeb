// Starting and stopping: which buttons a target gets, how long it has been running, how
// often a row that is changing state is looked at again, and what an action's answer means in
// words. Plain functions over the gate's `/targets` and action answers (no DOM), for tests/portal.

import { badge, stateWords } from "./status.js";

/** The notebook instance platform an administrator moves one on a retired platform to. */
export const CURRENT_PLATFORM = "notebook-al2023-v1";

/**
 * Seconds between looks at a row that is starting or stopping: soon at first, then less often,
 * then no more (the person is offered Refresh). A notebook instance takes minutes to start, so a
 * poll without end would keep asking SageMaker for nothing.
 */
export const SETTLE_DELAYS_SECONDS = [5, 10, 20, 30];

/** The wait before look number `attempt` (0-based), or null when it is time to stop looking. */
export function settleDelay(attempt) {
  return Number.isInteger(attempt) && attempt >= 0 && attempt < SETTLE_DELAYS_SECONDS.length
    ? SETTLE_DELAYS_SECONDS[attempt]
    : null;
}

// States that change by themselves soon: a notebook instance's, and a Studio app's.
const NOTEBOOK_SETTLING = new Set(["Pending", "Stopping", "Updating"]);
const APP_SETTLING = new Set(["Pending", "Deleting"]);
// A Studio app that is there and costs money; ListApps also returns ones Deleted or Failed.
const APP_ON = new Set(["InService", "Pending"]);

/** True when a notebook instance's status will change by itself shortly. */
export function notebookSettling(status) {
  return NOTEBOOK_SETTLING.has(status);
}

/** True when a space's app is starting or being stopped. */
export function appSettling(app) {
  return Boolean(app) && APP_SETTLING.has(app.status);
}

/** "3 h 12 min", "45 min", "2 d 5 h", "less than a minute": a duration as a person reads it. */
export function durationText(seconds) {
  if (!Number.isFinite(seconds) || seconds < 60) return "less than a minute";
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (days > 0) return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
  if (hours > 0) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${minutes} min`;
}

/** Seconds from an RFC 3339 time to `now` (ms), or null when there is no readable time. */
export function secondsSince(since, now) {
  if (typeof since !== "string" || since === "") return null;
  const then = Date.parse(since);
  if (Number.isNaN(then)) return null;
  return Math.max(0, (now - then) / 1000);
}

/**
 * What a running thing has cost so far, in words: "Running for 3 h 12 min · ml.g5.xlarge" while
 * it is in service, else only its instance type. `longRunning` marks one on for longer than the
 * deployment's threshold (`longRunningSeconds`), so a person notices what they left on.
 */
export function runningSummary({ status, since, instanceType }, longRunningSeconds, now) {
  const seconds = status === "InService" ? secondsSince(since, now) : null;
  const parts = [];
  if (seconds !== null) parts.push(`Running for ${durationText(seconds)}`);
  if (instanceType) parts.push(instanceType);
  const threshold = Number.isFinite(longRunningSeconds) && longRunningSeconds > 0 ? longRunningSeconds : null;
  const longRunning = seconds !== null && threshold !== null && seconds > threshold;
  return {
    text: parts.join(" · "),
    longRunning,
    flag: longRunning ? `On for more than ${durationText(threshold)}: stop it if you are done with it.` : "",
  };
}

/** True when the deployment allows `action` ("start" / "stop") per the `/targets` answer. */
export function allows(targets, action) {
  return Array.isArray(targets?.lifecycle) && targets.lifecycle.includes(action);
}

/**
 * A notebook instance's Start / Stop button, or null. Offered only when the deployment allows it
 * (`lifecycle`), the gate gave the route, and SageMaker would do it in this state; never Start on
 * a retired platform (`platformRetired`: the gate gives no route, and SageMaker would refuse).
 * Stopping one shared with a group (`sharedWith`) ends the work of everyone in it, and its
 * confirmation says so.
 */
export function notebookControl(notebook, targets) {
  const retired = notebook.platformRetired === true;
  if (notebook.status === "Stopped" && allows(targets, "start") && notebook.start && !retired) {
    return { action: "start", label: "Start", path: notebook.start, confirm: null };
  }
  if (notebook.status === "InService" && allows(targets, "stop") && notebook.stop) {
    const { name, instanceType, sharedWith: group } = notebook;
    const what = `The notebook instance ${name}${instanceType ? ` (${instanceType})` : ""} stops`;
    const lost = group
      ? `. It is shared with ${group}: everyone in ${group} using it loses their running work (running kernels and anything not saved).`
      : ": its running kernels and anything not saved are lost.";
    const after = retired
      ? " Its files stay, but its platform is retired: it cannot be started again until an administrator updates it."
      : " Its files stay, and it can be started again.";
    return {
      action: "stop",
      label: "Stop",
      path: notebook.stop,
      confirm: { title: `Stop ${name}?`, words: what + lost + after, button: `Stop ${name}` },
    };
  }
  return null;
}

/**
 * A space's Stop button (it stops the space's running app; the space and its storage stay), or
 * null. A shared space's app may be stopped by its owner only (the gate refuses anyone else with
 * `not_space_owner`), so others get a note instead of a button that would be refused.
 */
export function spaceControl(space, studio, targets) {
  const app = space.app;
  if (!app || !APP_ON.has(app.status) || !allows(targets, "stop")) return { control: null, note: "" };
  // The gate gives a shared space's `stop` route to its owner only; the note says why it is absent.
  if (space.shared && space.ownerProfile && space.ownerProfile !== studio?.userProfile) {
    return { control: null, note: `Only its owner, ${space.ownerProfile}, can stop its app.` };
  }
  if (!space.stop) return { control: null, note: "" };
  const appName = app.appType ?? "running";
  return {
    control: {
      action: "stop",
      label: "Stop",
      path: space.stop,
      confirm: {
        title: `Stop the ${appName} app in ${space.name}?`,
        words:
          `The ${appName} app in ${space.name}${app.instanceType ? ` (${app.instanceType})` : ""} stops: ` +
          "its running kernels and terminals and anything not saved are lost" +
          (space.shared ? ", for everyone working in this shared space" : "") +
          ". The space and its files stay; opening it starts the app again.",
        button: `Stop the app in ${space.name}`,
      },
    },
    note: "",
  };
}

/** What a row that was changing says once it has settled: "alice-gpu is running now." */
export function settledWords({ kind, name, badge: shown }) {
  if (kind === "space") {
    return shown.label === "Running" ? `The app in ${name} is running now.` : `The app in ${name} has stopped.`;
  }
  return `${name} is ${shown.label.replace(/…$/, "").toLowerCase()} now.`;
}

/** What the page says when it stops looking at rows that are still changing. */
export function stillWords(rows) {
  // One sentence a row; a notebook's name starts its sentence as it is written (never capitalised).
  const each = rows.map(({ kind, name, badge: shown }) => {
    const state = shown.label.replace(/…$/, "").toLowerCase();
    return kind === "space" ? `The app in ${name} is still ${state}.` : `${name} is still ${state}.`;
  });
  return `${each.join(" ")} Press Refresh to see whether ${rows.length === 1 ? "it is" : "they are"} done.`;
}

/** True when the gate's answer to a start or stop says the target is still on its way. */
export function answerSettling(answer) {
  return ["started", "stopping", "already starting", "already stopping"].includes(answer?.result);
}

/** The busy words while an action is under way, and the words for the gate's answer to it. */
export function busyWords(action, name) {
  return `${action === "start" ? "Starting" : "Stopping"} ${name}…`;
}

const RESULTS = {
  started: (name) => `${name} is starting. This page will show when it is running.`,
  stopping: (name) => `${name} is stopping. This page will show when it has stopped.`,
  "already running": (name) => `${name} is already running.`,
  "already starting": (name) => `${name} is already starting.`,
  "already stopped": (name) => `${name} is already stopped.`,
  "already stopping": (name) => `${name} is already stopping.`,
};

/** What the gate's answer to a start or stop (`{"result", "status", ...}`) means, in words. */
export function resultWords(answer, name) {
  const words = RESULTS[answer?.result];
  return words ? words(name) : `${name}: ${badge(answer?.status).label}.`;
}

// SageMaker's states as they appear in the gate's 409 message ("... while it is Updating").
const STATE_IN_MESSAGE = /\b(InService|Pending|Stopping|Stopped|Failed|Deleting|Updating|Deleted)\b/;

/**
 * Words for a start or stop that the gate refused. Returns null for the errors that are not the
 * action's own (network, throttling, SageMaker failing): those are said as for any other call.
 */
export function actionErrorWords(error, { action, name }) {
  const doing = action === "start" ? "started" : "stopped";
  switch (error.code) {
    case "action_disabled":
      return `This portal is not set up to let people ${action} things themselves. Ask your admin.`;
    case "not_space_owner":
      return `Only the owner of ${name} can stop its app. Ask them, or your admin.`;
    case "not_found":
      return `${name} is not yours, or it no longer exists. Refresh the list to see what is yours.`;
    case "throttled":
      return `SageMaker is busy right now. Try again in ${error.retryAfter > 0 ? `${error.retryAfter} seconds` : "a few seconds"}.`;
    case "platform_retired":
      return `${name} cannot be started: its platform is retired. An administrator must update it to ${CURRENT_PLATFORM}.`;
    default:
      break;
  }
  if (error.status === 409) {
    const state = STATE_IN_MESSAGE.exec(error.message ?? "")?.[1];
    if (state) return `${name} cannot be ${doing} while it is ${stateWords(state)}. Refresh the list to see its state.`;
    // A `state_conflict` without a state: SageMaker saw another state than the gate had read
    // (someone else started or stopped it meanwhile).
    if (error.code === "state_conflict") return `${name} changed state meanwhile. Refresh the list to see its state now.`;
    return `${name} cannot be ${doing} in the state it is in now. Refresh the list to see its state.`;
  }
  return null;
}
