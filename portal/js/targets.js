// What each target looks like and what its Open button does, decided from the gate's `/targets`
// answer. Plain functions over plain data (no DOM), so tests/portal runs them under Node.

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

const BADGES = {
  InService: { label: "Running", tone: "ok" },
  Pending: { label: "Starting…", tone: "busy" },
  Updating: { label: "Updating…", tone: "busy" },
  Stopping: { label: "Stopping…", tone: "busy" },
  Stopped: { label: "Stopped", tone: "idle" },
  Failed: { label: "Failed", tone: "bad" },
  Deleting: { label: "Deleting", tone: "bad" },
  Creating: { label: "Creating…", tone: "busy" },
  Delete_Failed: { label: "Failed", tone: "bad" },
  Update_Failed: { label: "Failed", tone: "bad" },
};

/** A status badge: the words shown and a tone (`ok`, `busy`, `idle`, `bad`) that colours it. */
export function badge(status) {
  return BADGES[status] ?? { label: status || "Unknown", tone: "idle" };
}

/**
 * A notebook instance's Open button: its label, whether it can be pressed, and a note that says
 * why not (or what will happen) in words.
 */
export function notebookAction(status, autoStart) {
  switch (status) {
    case "InService":
      return { label: "Open", enabled: true, note: "" };
    case "Pending":
    case "Updating":
      return { label: "Open when ready", enabled: true, note: "It is starting; a page will wait for it and then open it." };
    case "Stopped":
      return autoStart
        ? { label: "Start and open", enabled: true, note: "Starting takes a few minutes; a page will wait for it." }
        : { label: "Open", enabled: false, note: "It is stopped. Ask your admin to start it." };
    case "Stopping":
      return { label: "Open", enabled: false, note: "It is stopping. Refresh in a minute." };
    default:
      return { label: "Open", enabled: false, note: "It cannot be opened now. Ask your admin." };
  }
}

/** Notebook instances as the list shows them, in name order. */
export function notebookRows(targets) {
  const autoStart = targets.autoStart === true;
  return [...(targets.notebookInstances ?? [])]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((nb) => ({
      name: nb.name,
      detail: nb.instanceType ?? "",
      badge: badge(nb.status),
      action: notebookAction(nb.status, autoStart),
      launch: nb.launch,
      starts: nb.status === "Stopped" && autoStart,
    }));
}

/** The Studio profile's spaces as the list shows them: the person's own first, then shared ones. */
export function spaceRows(studio) {
  if (!studio) return [];
  return [...(studio.spaces ?? [])]
    .sort((a, b) => Number(a.shared) - Number(b.shared) || a.name.localeCompare(b.name))
    .map((space) => {
      const broken = ["Failed", "Deleting", "Delete_Failed"].includes(space.status);
      return {
        name: space.name,
        detail: [space.shared ? "Shared space" : "Private space", space.appType].filter(Boolean).join(" · "),
        // A space in service exists and can be opened; its app starts when it is opened.
        badge: space.status === "InService" ? { label: "Ready", tone: "ok" } : badge(space.status),
        action: broken
          ? { label: "Open", enabled: false, note: "This space cannot be opened now. Ask your admin." }
          : { label: "Open", enabled: true, note: "" },
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
