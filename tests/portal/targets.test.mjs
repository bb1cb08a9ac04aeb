// What the list shows and what its buttons do, from the gate's /targets answer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { badge, isEmpty, notebookAction, notebookRows, spaceRows, STUDIO_APPS, uncheckedNote } from "../../portal/js/targets.js";

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

test("the app chooser offers only values the gate accepts", () => {
  const gateApps = ["jupyterlab", "codeeditor", "canvas", "rstudio", "jupyterserver", "studio"];
  for (const { value } of STUDIO_APPS) assert.ok(gateApps.includes(value), value);
});

test("empty means no notebook and no Studio profile", () => {
  assert.equal(isEmpty({ notebookInstances: [], studio: null }), true);
  assert.equal(isEmpty({ notebookInstances: [], studio: { spaces: [] } }), false);
});

test("a list with unchecked notebook instances says one may be missing, without the account's count", () => {
  assert.equal(uncheckedNote({ notebookInstances: [], uncheckedNotebookInstances: 0 }), "");
  assert.equal(uncheckedNote({ notebookInstances: [] }), ""); // a gate from before the field
  for (const count of [1, 7]) {
    const words = uncheckedNote({ notebookInstances: [], uncheckedNotebookInstances: count });
    assert.match(words, /could not be checked just now/);
    assert.match(words, /Refresh/);
    assert.doesNotMatch(words, new RegExp(String(count)));
  }
  // Nothing listed but some unchecked is not "nothing to open".
  assert.equal(isEmpty({ notebookInstances: [], studio: null, uncheckedNotebookInstances: 2 }), false);
});
