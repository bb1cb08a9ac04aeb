// What each target looks like and what its buttons do, decided from the gate's `/targets`
// answer. Plain functions over plain data (no DOM), so tests/portal runs them under Node.

import { idleShutdownText, keepControl, priceText, scheduleText } from "./cost.js";
import { appSettling, CURRENT_PLATFORM, notebookControl, notebookSettling, runningSummary, spaceControl } from "./lifecycle.js";
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

// SageMaker's app types as the gate's `app` values, for opening a space in its own app. Studio
// Classic (JupyterServer) is retired and the gate refuses it; a space of another type opens in
// the gate's default.
const SPACE_APPS = { JupyterLab: "jupyterlab", CodeEditor: "codeeditor" };

/**
 * A notebook instance's Open button: its label, whether it can be pressed, and a note that says
 * why not (or what will happen) in words. `canStart`: the row has a Start button of its own.
 * `retired`: the platform it runs on, when SageMaker no longer starts that platform (the gate's
 * `platformRetired`): a stopped one cannot be started by anyone, so nothing offers to.
 */
export function notebookAction(status, autoStart, canStart = false, retired = null) {
  if (status === "Stopped" && retired) return { label: "Open", enabled: false, note: retiredWords(retired) };
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

/** Why a stopped notebook instance on a retired platform has no Start, naming the platform. */
export function retiredWords(platform) {
  const named = typeof platform === "string" && platform ? `its platform, ${platform},` : "its platform";
  return `It cannot be started: ${named} is retired. An administrator must update it to ${CURRENT_PLATFORM}.`;
}

/** "Shared with ml-team": a notebook instance its group tag shares (the gate's `sharedWith`). */
export function sharedLabel(group) {
  return typeof group === "string" && group ? `Shared with ${group}` : "";
}

/**
 * What a running target costs and when it stops, as a row shows them: `price` and `schedule` in
 * words (empty when there is nothing to say) and `keep`, its "Keep running until…" control or null.
 */
export function costParts(target, targets, running, now) {
  return {
    price: priceText(target, targets.currency, running),
    schedule: running ? scheduleText(target, now) : "",
    keep: running ? keepControl(target, now) : null,
  };
}

/** Notebook instances as the list shows them, in name order; `now` (ms) dates their running time. */
export function notebookRows(targets, now = Date.now()) {
  const autoStart = targets.autoStart === true;
  return [...(targets.notebookInstances ?? [])]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((nb) => {
      const control = notebookControl(nb, targets);
      const summary = runningSummary(nb, targets.longRunningSeconds, now);
      // The platform is read for stopped instances only; `true` without one still retires it.
      const retired = nb.platformRetired === true ? nb.platform || true : null;
      return {
        kind: "notebook",
        key: `notebook:${nb.name}`,
        name: nb.name,
        status: nb.status,
        detail: [sharedLabel(nb.sharedWith), summary.text].filter(Boolean).join(" · "),
        flag: summary.flag,
        badge: badge(nb.status),
        action: notebookAction(nb.status, autoStart, control?.action === "start", retired),
        control,
        settling: notebookSettling(nb.status),
        open: nb.open,
        launch: nb.launch,
        starts: nb.status === "Stopped" && autoStart && !retired,
        ...costParts(nb, targets, nb.status === "InService", now),
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

/**
 * One Studio domain's spaces as the list shows them: the person's own first, then shared ones.
 * `studio` is one entry of `studioDomains` (its profile and spaces). A space's key names its
 * domain, since two domains may each have a space of the same name.
 */
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
        key: `space:${studio.domainId ?? ""}:${space.name}`,
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
        open: space.open,
        launch: space.launch,
        app: SPACE_APPS[space.appType] ?? "",
        // The policy's fields are on the space; a space costs while its app runs.
        ...costParts(space, targets, !broken && ["InService", "Pending"].includes(app?.status), now),
      };
    });
}

/**
 * Words for a list the gate could not finish: `someNotebookInstancesUnchecked` says SageMaker
 * would not describe some notebook instance of the caller's just now, so the gate left it out. Empty when every one was checked. The gate says only that some were, never how
 * many (a count would tell anyone the account's size), and so do these words.
 */
export function uncheckedNote(targets) {
  if (targets.someNotebookInstancesUnchecked !== true) return "";
  return "Some notebook instances could not be checked just now, so this list may be incomplete: one of yours may be missing. Refresh in a minute to see it.";
}

/**
 * One card per Studio domain where the person has a profile, in the gate's order (the
 * deployment's): titled with the domain's name (its id when the name is unknown), with the
 * routes that open Studio in that domain and the domain's spaces.
 */
export function studioCards(targets, now = Date.now()) {
  const domains = Array.isArray(targets.studioDomains) ? targets.studioDomains : [];
  return domains.map((domain) => ({
    key: `studio:${domain.domainId}`,
    domainId: domain.domainId,
    title: domain.domainName || domain.domainId,
    userProfile: domain.userProfile,
    open: domain.open,
    launch: domain.launch,
    // SageMaker's own idle shutdown stops this domain's apps; the gate's policy leaves them alone.
    idle: idleShutdownText(domain.idleShutdownMinutes),
    spaces: spaceRows(domain, targets, now),
  }));
}

// MLflow's states (tracking servers: DescribeMlflowTrackingServer's TrackingServerStatus; apps:
// DescribeMlflowApp's Status), as the gate treats them: these open, these answer "wait" (202).
const SERVER_OPENS = new Set(["Created", "Updated", "Started", "MaintenanceComplete"]);
const SERVER_WAITS = new Set(["Creating", "Updating", "Starting", "MaintenanceInProgress"]);
const APP_OPENS = new Set(["Created", "Updated"]);
const APP_WAITS = new Set(["Creating", "Updating"]);
// States that change by themselves soon, so the list looks again (as for notebooks).
const MLFLOW_SETTLING = new Set([...SERVER_WAITS, "Stopping", "Deleting"]);

const MLFLOW_BADGES = {
  Starting: { label: "Starting…", tone: "busy" },
  MaintenanceInProgress: { label: "In maintenance…", tone: "busy" },
  CreateFailed: { label: "Create failed", tone: "bad" },
  UpdateFailed: { label: "Update failed", tone: "bad" },
  StartFailed: { label: "Start failed", tone: "bad" },
  StopFailed: { label: "Stop failed", tone: "bad" },
  MaintenanceFailed: { label: "Maintenance failed", tone: "bad" },
  DeleteFailed: { label: "Delete failed", tone: "bad" },
};

/**
 * An MLflow tracking server's or app's badge. A tracking server that can be opened is running (it
 * is a server, and costs while it is); an app has no server of its own to run, so it is ready.
 */
export function mlflowBadge(kind, status) {
  if (kind === "mlflow-app" && APP_OPENS.has(status)) return { label: "Ready", tone: "ok" };
  if (kind === "mlflow-tracking-server" && SERVER_OPENS.has(status)) return { label: "Running", tone: "ok" };
  return MLFLOW_BADGES[status] ?? badge(status);
}

const words = (kind, status) => mlflowBadge(kind, status).label.replace(/…$/, "").toLowerCase();

/**
 * A tracking server's Open button: open when running; while it starts, updates or is in
 * maintenance the gate's wait page takes over; a stopped one is started by Open only where the
 * deployment starts what it opens (`autoStart`), else the row says it is stopped.
 */
export function mlflowServerAction(status, autoStart) {
  const kind = "mlflow-tracking-server";
  if (SERVER_OPENS.has(status)) return { label: "Open", enabled: true, note: "" };
  if (SERVER_WAITS.has(status)) {
    return { label: "Open when ready", enabled: true, note: `It is ${words(kind, status)}; a page will wait for it and then open it.` };
  }
  if (status === "Stopped") {
    return autoStart
      ? { label: "Open", enabled: true, note: "Open starts it. Starting takes a while; a page will wait for it and then open it." }
      : { label: "Open", enabled: false, note: "It is stopped. Ask your admin to start it." };
  }
  if (status === "Stopping") return { label: "Open", enabled: false, note: "It is stopping. This page shows when it has stopped." };
  return { label: "Open", enabled: false, note: `It cannot be opened now (${words(kind, status)}). Ask your admin.` };
}

/** An MLflow app's Open button: apps have no start or stop, only being created or updated. */
export function mlflowAppAction(status) {
  const kind = "mlflow-app";
  if (APP_OPENS.has(status)) return { label: "Open", enabled: true, note: "" };
  if (APP_WAITS.has(status)) {
    return { label: "Open when ready", enabled: true, note: `It is ${words(kind, status)}; a page will wait for it and then open it.` };
  }
  return { label: "Open", enabled: false, note: `It cannot be opened now (${words(kind, status)}). Ask your admin.` };
}

const versionText = (version) => (version ? `MLflow ${version}` : "");

/** The person's MLflow tracking servers as the list shows them, in name order; with their size. */
export function mlflowServerRows(targets, now = Date.now()) {
  const autoStart = targets.autoStart === true;
  const kind = "mlflow-tracking-server";
  return [...(targets.mlflowTrackingServers ?? [])]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((server) => ({
      kind,
      key: `${kind}:${server.name}`,
      name: server.name,
      status: server.status,
      detail: [versionText(server.mlflowVersion), server.size].filter(Boolean).join(" · "),
      flag: "",
      badge: mlflowBadge(kind, server.status),
      action: mlflowServerAction(server.status, autoStart),
      control: null,
      settling: MLFLOW_SETTLING.has(server.status),
      open: server.open,
      launch: server.launch,
      starts: server.status === "Stopped" && autoStart,
      ...costParts(server, targets, SERVER_OPENS.has(server.status), now),
    }));
}

/** The person's MLflow apps as the list shows them, in name order (an app without one: its id). */
export function mlflowAppRows(targets) {
  const kind = "mlflow-app";
  return [...(targets.mlflowApps ?? [])]
    .map((app) => ({ ...app, name: app.name || app.id }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
    .map((app) => ({
      kind,
      key: `${kind}:${app.id}`, // two apps may share a name; their ids differ
      name: app.name,
      status: app.status,
      detail: versionText(app.mlflowVersion),
      flag: "",
      badge: mlflowBadge(kind, app.status),
      action: mlflowAppAction(app.status),
      control: null,
      settling: MLFLOW_SETTLING.has(app.status),
      open: app.open,
      launch: app.launch,
      starts: false,
    }));
}

/**
 * As `uncheckedNote`, for MLflow: `someMlflowUnchecked` says some tracking server's or app's state
 * could not be read, so one of the person's may be missing.
 */
export function uncheckedMlflowNote(targets) {
  if (targets.someMlflowUnchecked !== true) return "";
  return "Some MLflow tracking servers or apps could not be checked just now, so this list may be incomplete: one of yours may be missing. Refresh in a minute to see it.";
}

/** True when the person has nothing at all to open, as far as the gate could check. */
export function isEmpty(targets) {
  const none = (list) => !Array.isArray(list) || list.length === 0;
  return (
    none(targets.notebookInstances) &&
    none(targets.studioDomains) &&
    none(targets.mlflowTrackingServers) &&
    none(targets.mlflowApps) &&
    uncheckedNote(targets) === "" &&
    uncheckedMlflowNote(targets) === ""
  );
}
