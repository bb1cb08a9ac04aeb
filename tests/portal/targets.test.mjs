// What the list shows and what its buttons do, from the gate's /targets answer.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  badge,
  isEmpty,
  mlflowAppAction,
  mlflowAppRows,
  mlflowBadge,
  mlflowServerAction,
  mlflowServerRows,
  notebookAction,
  notebookRows,
  retiredWords,
  spaceRows,
  STUDIO_APPS,
  studioCards,
  uncheckedMlflowNote,
  uncheckedNote,
} from "../../portal/js/targets.js";

test("a stopped notebook opens only when the gate will start it", () => {
  assert.deepEqual(notebookAction("Stopped", false), { label: "Open", enabled: false, note: "It is stopped. Ask your admin to start it." });
  const starting = notebookAction("Stopped", true);
  assert.equal(starting.label, "Start and open");
  assert.equal(starting.enabled, true);
});

test("running and starting notebooks open; stopping, failed and unknown ones say why not", () => {
  assert.equal(notebookAction("InService", false).enabled, true);
  assert.equal(notebookAction("Pending", false).enabled, true);
  for (const status of ["Stopping", "Failed", "Deleting", "Something"]) {
    const action = notebookAction(status, true);
    assert.equal(action.enabled, false, status);
    assert.notEqual(action.note, "", status);
  }
});

test("badges are words with a tone, and an unknown status is shown as it is", () => {
  assert.deepEqual(badge("InService"), { label: "Running", tone: "ok" });
  assert.equal(badge("Failed").tone, "bad");
  assert.deepEqual(badge("Migrating"), { label: "Migrating", tone: "idle" });
});

test("rows come sorted, and only a stopped notebook with auto-start is marked as starting", () => {
  const rows = notebookRows({
    autoStart: true,
    notebookInstances: [
      { name: "b-nb", status: "Stopped", instanceType: "ml.t3.medium", launch: "/launch/notebook-instances/b-nb" },
      { name: "a-nb", status: "InService", instanceType: null, launch: "/launch/notebook-instances/a-nb" },
    ],
  });
  assert.deepEqual(rows.map((r) => [r.name, r.starts, r.detail]), [["a-nb", false, ""], ["b-nb", true, "ml.t3.medium"]]);
});

test("own spaces come before shared ones and open in their own app", () => {
  const rows = spaceRows({
    spaces: [
      { name: "team", shared: true, status: "InService", appType: "CodeEditor", launch: "/launch/studio?space=team" },
      { name: "mine", shared: false, status: "InService", appType: "JupyterLab", launch: "/launch/studio?space=mine" },
      { name: "gone", shared: false, status: "Deleting", appType: null, launch: "/launch/studio?space=gone" },
    ],
  });
  assert.deepEqual(rows.map((r) => r.name), ["gone", "mine", "team"]);
  assert.deepEqual(rows.map((r) => r.app), ["", "jupyterlab", "codeeditor"]);
  assert.equal(rows[0].action.enabled, false);
  assert.equal(rows[1].badge.label, "Ready");
  assert.equal(spaceRows(null).length, 0);
});

test("the app chooser offers only values the gate accepts, and never the retired Studio Classic", () => {
  const gateApps = ["jupyterlab", "codeeditor", "canvas", "rstudio", "studio"];
  for (const { value } of STUDIO_APPS) assert.ok(gateApps.includes(value), value);
  assert.deepEqual(STUDIO_APPS.map((a) => a.value), ["studio", "jupyterlab", "codeeditor", "canvas", "rstudio"]);
  for (const { value, label } of STUDIO_APPS) assert.doesNotMatch(`${value} ${label}`, /jupyter ?server|classic/i);
});

test("a Studio Classic space is not opened as Studio Classic (the gate answers that with 400)", () => {
  const [classic] = spaceRows({
    spaces: [{ name: "old", shared: false, status: "InService", appType: "JupyterServer", open: "/studio?space=old" }],
  });
  assert.equal(classic.app, ""); // the gate's default app, not `app=jupyterserver`
  assert.equal(classic.action.enabled, true);
});

const NOTHING = {
  notebookInstances: [], studioDomains: [], mlflowTrackingServers: [], mlflowApps: [],
  someNotebookInstancesUnchecked: false, someMlflowUnchecked: false,
};

test("empty means no notebook, no Studio profile in any domain and no MLflow", () => {
  assert.equal(isEmpty(NOTHING), true);
  assert.equal(isEmpty({ notebookInstances: [] }), true); // a gate without the newer lists
  assert.equal(isEmpty({ ...NOTHING, studioDomains: [{ domainId: "d-a", userProfile: "alice", spaces: [] }] }), false);
  assert.equal(isEmpty({ ...NOTHING, mlflowTrackingServers: [{ name: "s", status: "Stopped" }] }), false);
  assert.equal(isEmpty({ ...NOTHING, mlflowApps: [{ id: "a", name: "a", status: "Created" }] }), false);
  // MLflow the gate could not check may hold one of theirs: not "nothing to open".
  assert.equal(isEmpty({ ...NOTHING, someMlflowUnchecked: true }), false);
});

test("a list with unchecked notebook instances says it may be incomplete, with no number in it", () => {
  assert.equal(uncheckedNote(NOTHING), "");
  assert.equal(uncheckedNote({ notebookInstances: [] }), ""); // no flag: everything was checked
  // Only the gate's boolean counts: the count it once sent is no longer read, nor anything truthy.
  for (const old of [{ uncheckedNotebookInstances: 3 }, { someNotebookInstancesUnchecked: 1 }, { someNotebookInstancesUnchecked: "true" }]) {
    assert.equal(uncheckedNote({ notebookInstances: [], ...old }), "", JSON.stringify(old));
  }
  const words = uncheckedNote({ ...NOTHING, someNotebookInstancesUnchecked: true });
  assert.match(words, /^Some notebook instances could not be checked just now, so this list may be incomplete/);
  assert.match(words, /Refresh in a minute/);
  assert.doesNotMatch(words, /\d/);
  // Nothing listed but some unchecked is not "nothing to open".
  assert.equal(isEmpty({ ...NOTHING, someNotebookInstancesUnchecked: true }), false);
  assert.equal(isEmpty({ ...NOTHING, someNotebookInstancesUnchecked: false }), true);
});

const SHARED_AND_RETIRED = {
  autoStart: true,
  lifecycle: ["start", "stop"],
  notebookInstances: [
    {
      name: "ml-team-shared", status: "InService", instanceType: "ml.t3.medium", sharedWith: "ml-team", platformRetired: false,
      open: "/notebook-instances/ml-team-shared", stop: "/notebook-instances/ml-team-shared/stop",
    },
    {
      // Retired: the gate gives no `start` route, and autoStart must not offer "Start and open".
      name: "alice-legacy", status: "Stopped", instanceType: "ml.t3.medium", platform: "notebook-al2-v2", platformRetired: true,
      open: "/notebook-instances/alice-legacy",
    },
    {
      name: "alice-gpu", status: "Stopped", instanceType: "ml.g5.xlarge", platform: "notebook-al2023-v1", platformRetired: false,
      open: "/notebook-instances/alice-gpu", start: "/notebook-instances/alice-gpu/start",
    },
  ],
};

test("a notebook shared with a group says so in its row; one of the person's own does not", () => {
  const rows = notebookRows(SHARED_AND_RETIRED);
  const shared = rows.find((r) => r.name === "ml-team-shared");
  assert.match(shared.detail, /^Shared with ml-team · /);
  assert.match(shared.detail, /ml\.t3\.medium$/);
  for (const own of rows.filter((r) => r.name !== "ml-team-shared")) assert.doesNotMatch(own.detail, /Shared/, own.name);
});

test("a stopped notebook on a retired platform has no start of any kind, and says why in words", () => {
  const rows = notebookRows(SHARED_AND_RETIRED);
  const legacy = rows.find((r) => r.name === "alice-legacy");
  assert.equal(legacy.control, null); // no Start button
  assert.equal(legacy.starts, false); // and Open does not start it, autoStart or not
  assert.deepEqual(legacy.action, {
    label: "Open",
    enabled: false,
    note: "It cannot be started: its platform, notebook-al2-v2, is retired. An administrator must update it to notebook-al2023-v1.",
  });
  assert.equal(legacy.badge.label, "Stopped");
  // Even were a start route there, a retired platform gets no Start.
  const withRoute = { ...SHARED_AND_RETIRED.notebookInstances[1], start: "/notebook-instances/alice-legacy/start" };
  assert.equal(notebookRows({ ...SHARED_AND_RETIRED, notebookInstances: [withRoute] })[0].control, null);
  // Without autoStart too, and a current platform next to it still starts as before.
  assert.equal(notebookRows({ ...SHARED_AND_RETIRED, autoStart: false }).find((r) => r.name === "alice-legacy").action.enabled, false);
  const current = rows.find((r) => r.name === "alice-gpu");
  assert.equal(current.control.action, "start");
  assert.equal(current.action.label, "Start and open");
  assert.equal(current.starts, true);
  assert.match(retiredWords(undefined), /^It cannot be started: its platform is retired\./);
});

const DOMAINS = {
  lifecycle: ["start", "stop"],
  studioDomains: [
    {
      domainId: "d-research1", domainName: "research", userProfile: "alice",
      open: "/studio?domain=d-research1", launch: "/launch/studio?domain=d-research1",
      spaces: [{
        name: "alice-private", shared: false, status: "InService", appType: "JupyterLab",
        app: { appType: "JupyterLab", status: "InService" },
        open: "/studio?domain=d-research1&space=alice-private",
        launch: "/launch/studio?domain=d-research1&space=alice-private",
        stop: "/studio/spaces/alice-private/stop?domain=d-research1",
      }],
    },
    {
      domainId: "d-platform1", domainName: null, userProfile: "alice",
      open: "/studio?domain=d-platform1", launch: "/launch/studio?domain=d-platform1",
      spaces: [{
        name: "alice-private", shared: false, status: "InService", appType: "CodeEditor", app: null,
        open: "/studio?domain=d-platform1&space=alice-private",
        launch: "/launch/studio?domain=d-platform1&space=alice-private",
      }],
    },
  ],
};

test("each Studio domain is a card, in the gate's order, titled by its name or else its id", () => {
  const cards = studioCards(DOMAINS);
  assert.deepEqual(cards.map((c) => [c.domainId, c.title, c.userProfile]), [
    ["d-research1", "research", "alice"],
    ["d-platform1", "d-platform1", "alice"],
  ]);
  assert.deepEqual(cards.map((c) => [c.open, c.launch]), [
    ["/studio?domain=d-research1", "/launch/studio?domain=d-research1"],
    ["/studio?domain=d-platform1", "/launch/studio?domain=d-platform1"],
  ]);
  assert.deepEqual(studioCards({ notebookInstances: [] }), []);
});

test("a space row uses the routes the gate gave for its domain, and its key tells same-named spaces apart", () => {
  const [research, platform] = studioCards(DOMAINS).map((c) => c.spaces[0]);
  assert.equal(research.name, platform.name);
  assert.notEqual(research.key, platform.key);
  assert.equal(research.launch, "/launch/studio?domain=d-research1&space=alice-private");
  assert.equal(research.open, "/studio?domain=d-research1&space=alice-private");
  assert.equal(platform.launch, "/launch/studio?domain=d-platform1&space=alice-private");
  assert.equal(research.app, "jupyterlab");
  assert.equal(platform.app, "codeeditor");
  // The running app can be stopped through its own domain's route; the other has no app running.
  assert.equal(research.control.path, "/studio/spaces/alice-private/stop?domain=d-research1");
  assert.equal(platform.control, null);
});

const SERVERS = [
  { name: "b-server", status: "Stopped", mlflowVersion: "2.16", open: "/mlflow/tracking-servers/b-server", launch: "/launch/mlflow/tracking-servers/b-server" },
  { name: "a-server", status: "Started", mlflowVersion: "3.0", open: "/mlflow/tracking-servers/a-server", launch: "/launch/mlflow/tracking-servers/a-server" },
  { name: "c-server", status: "Starting", mlflowVersion: null, open: "/mlflow/tracking-servers/c-server", launch: "/launch/mlflow/tracking-servers/c-server" },
];

test("tracking servers come sorted, with their MLflow version, state and the gate's routes", () => {
  const rows = mlflowServerRows({ autoStart: false, mlflowTrackingServers: SERVERS });
  assert.deepEqual(rows.map((r) => [r.name, r.detail, r.badge.label, r.action.enabled]), [
    ["a-server", "MLflow 3.0", "Running", true],
    ["b-server", "MLflow 2.16", "Stopped", false],
    ["c-server", "", "Starting…", true],
  ]);
  assert.deepEqual(rows.map((r) => r.launch), SERVERS.map((s) => s.launch).sort());
  assert.deepEqual(rows.map((r) => r.open), SERVERS.map((s) => s.open).sort());
  assert.deepEqual(rows.map((r) => r.kind), Array(3).fill("mlflow-tracking-server"));
  // Nothing for the page to start or stop itself; only the starting one is looked at again.
  assert.deepEqual(rows.map((r) => [r.control, r.settling, r.starts]), [[null, false, false], [null, false, false], [null, true, false]]);
  assert.deepEqual(mlflowServerRows({}), []);
});

test("a stopped tracking server says Open starts it only where the gate starts what it opens", () => {
  const [stopped] = mlflowServerRows({ autoStart: true, mlflowTrackingServers: [SERVERS[0]] });
  assert.equal(stopped.action.enabled, true);
  assert.match(stopped.action.note, /^Open starts it\./);
  assert.equal(stopped.starts, true);
  assert.deepEqual(mlflowServerAction("Stopped", false), { label: "Open", enabled: false, note: "It is stopped. Ask your admin to start it." });
});

test("every tracking server state opens, waits or says why not, as the gate answers it", () => {
  for (const status of ["Created", "Updated", "Started", "MaintenanceComplete"]) {
    assert.deepEqual(mlflowServerAction(status, false), { label: "Open", enabled: true, note: "" }, status);
    assert.deepEqual(mlflowBadge("mlflow-tracking-server", status), { label: "Running", tone: "ok" }, status);
  }
  assert.equal(mlflowServerAction("Starting", false).note, "It is starting; a page will wait for it and then open it.");
  assert.equal(mlflowServerAction("MaintenanceInProgress", false).note, "It is in maintenance; a page will wait for it and then open it.");
  for (const status of ["Creating", "Updating"]) assert.equal(mlflowServerAction(status, false).enabled, true, status);
  for (const status of ["Stopping", "Deleting", "StartFailed", "CreateFailed", "Mystery"]) {
    const action = mlflowServerAction(status, true);
    assert.equal(action.enabled, false, status);
    assert.notEqual(action.note, "", status);
  }
  assert.equal(mlflowServerAction("StartFailed", false).note, "It cannot be opened now (start failed). Ask your admin.");
  assert.deepEqual(mlflowBadge("mlflow-tracking-server", "StartFailed"), { label: "Start failed", tone: "bad" });
  assert.deepEqual(mlflowBadge("mlflow-tracking-server", "Mystery"), { label: "Mystery", tone: "idle" });
});

test("MLflow apps are ready when created or updated, wait while changing, and never start", () => {
  const rows = mlflowAppRows({
    autoStart: true,
    mlflowApps: [
      { id: "app-2", name: "team", status: "Creating", mlflowVersion: "3.0", open: "/mlflow/apps/app-2", launch: "/launch/mlflow/apps/app-2" },
      { id: "app-1", name: "team", status: "Created", mlflowVersion: "3.0", open: "/mlflow/apps/app-1", launch: "/launch/mlflow/apps/app-1" },
      { id: "app-3", name: "", status: "DeleteFailed", mlflowVersion: null, open: "/mlflow/apps/app-3", launch: "/launch/mlflow/apps/app-3" },
    ],
  });
  assert.deepEqual(rows.map((r) => [r.name, r.badge.label, r.action.label, r.action.enabled, r.launch]), [
    ["app-3", "Delete failed", "Open", false, "/launch/mlflow/apps/app-3"],
    ["team", "Ready", "Open", true, "/launch/mlflow/apps/app-1"],
    ["team", "Creating…", "Open when ready", true, "/launch/mlflow/apps/app-2"],
  ]);
  assert.equal(new Set(rows.map((r) => r.key)).size, 3); // two apps named "team" are two rows
  assert.ok(rows.every((r) => r.starts === false && r.control === null && r.kind === "mlflow-app"));
  assert.equal(mlflowAppAction("Stopped").enabled, false); // not an app state: not opened on a guess
  assert.deepEqual(mlflowBadge("mlflow-app", "Updated"), { label: "Ready", tone: "ok" });
});

test("unchecked MLflow says the list may be incomplete, with no number in it", () => {
  assert.equal(uncheckedMlflowNote({ someMlflowUnchecked: false }), "");
  assert.equal(uncheckedMlflowNote({}), "");
  assert.equal(uncheckedMlflowNote({ uncheckedMlflow: 4 }), ""); // the old count is not read
  const words = uncheckedMlflowNote({ someMlflowUnchecked: true });
  assert.match(words, /MLflow .* could not be checked just now, so this list may be incomplete/);
  assert.doesNotMatch(words, /\d/);
});
