// What each target looks like and what its buttons do, decided from the gate's `/targets`
// answer. Plain functions over plain data (no DOM), so tests/portal runs them under Node.

import { appSettling, notebookControl, notebookSettling, runningSummary, spaceControl } from "./lifecycle.js";
import { badge } from "./status.js";

export { badge };

/** Where Studio can land (the gate's `app` values, see docs/routes.md). */
export const STUDIO_APPS = [
  { value: "studio", label: "Studio home" },
  { value: "jupyterlab", label: "JupyterLab" },
  { value: "codeeditor", label: "Code Editor" },
  { value: "canvas", label: "Canvas" },
  { value: "rstudio", label: "RStudio" },
];

// SageMaker's app types as the gate's `app` values, for opening a space in its own app.
const SPACE_APPS = { JupyterLab: "jupyterlab", CodeEditor: "codeeditor", JupyterServer: "jupyterserver" };

/**
 * A notebook instance's Open button: its label, whether it can be pressed, and a note that says
 * why not (or what will happen) in words. `canStart`: the row has a Start button of its own.
 */
export function notebookAction(status, autoStart, canStart = false) {
  switch (status) {
    case "InService":
      return { label: "Open", enabled: true, note: "" };
    case "Pending":
    case "Updating":
      return { label: "Open when ready", enabled: true, note: "It is starting; a page will wait for it and then open it." };
    case "Stopped":
      if (autoStart) return { label: "Start and open", enabled: true, note: "Starting takes a few minutes; a page will wait for it." };
      return canStart
        ? { label: "Open", enabled: false, note: "It is stopped. Start it, then open it once it is running." }
        : { label: "Open", enabled: false, note: "It is stopped. Ask your admin to start it." };
    case "Stopping":
      return { label: "Open", enabled: false, note: "It is stopping. This page shows when it has stopped." };
    default:
      return { label: "Open", enabled: false, note: "It cannot be opened now. Ask your admin." };
  }
}

/** Notebook instances as the list shows them, in name order; `now` (ms) dates their running time. */
export function notebookRows(targets, now = Date.now()) {
  const autoStart = targets.autoStart === true;
  return [...(targets.notebookInstances ?? [])]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((nb) => {
      const control = notebookControl(nb, targets);
      const summary = runningSummary(nb, targets.longRunningSeconds, now);
      return {
        kind: "notebook",
        name: nb.name,
        status: nb.status,
        detail: summary.text,
        flag: summary.flag,
        badge: badge(nb.status),
        action: notebookAction(nb.status, autoStart, control?.action === "start"),
        control,
        settling: notebookSettling(nb.status),
        launch: nb.launch,
        starts: nb.status === "Stopped" && autoStart,
      };
    });
}

// A space's badge follows its app when the gate says what the app is doing.
const APP_BADGES = {
  InService: { label: "Running", tone: "ok" },
  Pending: { label: "Starting…", tone: "busy" },
  Deleting: { label: "Stopping…", tone: "busy" },
};

/** The badge for a status the gate answered a start or stop with (a space's: its app's). */
export function statusBadge(kind, status) {
  return kind === "space" ? APP_BADGES[status] ?? badge(status) : badge(status);
}

function spaceBadge(space) {
  if (space.status !== "InService") return badge(space.status);
  // A space in service exists and can be opened; its app starts when it is opened.
  return APP_BADGES[space.app?.status] ?? { label: "Ready", tone: "ok" };
}

/** The Studio profile's spaces as the list shows them: the person's own first, then shared ones. */
export function spaceRows(studio, targets = {}, now = Date.now()) {
  if (!studio) return [];
  return [...(studio.spaces ?? [])]
    .sort((a, b) => Number(a.shared) - Number(b.shared) || a.name.localeCompare(b.name))
    .map((space) => {
      const broken = ["Failed", "Deleting", "Delete_Failed"].includes(space.status);
      const app = space.app ?? null;
      // A stopped (Deleted) or failed app is the space's history, not something it runs now.
      const summary = APP_BADGES[app?.status] ? runningSummary(app, targets.longRunningSeconds, now) : { text: "", flag: "" };
      const { control, note } = broken ? { control: null, note: "" } : spaceControl(space, studio, targets);
      return {
        kind: "space",
        name: space.name,
        status: app?.status ?? space.status,
        detail: [space.shared ? "Shared space" : "Private space", app?.appType ?? space.appType, summary.text]
          .filter(Boolean).join(" · "),
        flag: summary.flag,
        badge: spaceBadge(space),
        action: broken
          ? { label: "Open", enabled: false, note: "This space cannot be opened now. Ask your admin." }
          : { label: "Open", enabled: true, note },
        control,
        settling: appSettling(app),
        launch: space.launch,
        app: SPACE_APPS[space.appType] ?? "",
      };
    });
}

/**
 * Words for a list the gate could not finish: `uncheckedNotebookInstances` counts the account's
 * notebook instances whose tags SageMaker would not give just now, so the gate could not tell
 * whose they are and left them out. Empty when every one was checked. The count is the account's,
 * not the person's, so it is not shown: it would read as "this many of yours are missing".
 */
export function uncheckedNote(targets) {
  const unchecked = targets.uncheckedNotebookInstances;
  if (!Number.isFinite(unchecked) || unchecked <= 0) return "";
  return "Some notebook instances could not be checked just now, so one of yours may be missing from this list. Refresh in a minute to see it.";
}

/** True when the person has nothing at all to open, as far as the gate could check. */
export function isEmpty(targets) {
  return (targets.notebookInstances ?? []).length === 0 && !targets.studio && uncheckedNote(targets) === "";
}
