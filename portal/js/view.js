// The page: shows one state at a time (loading, signed out, a problem, the list) and renders rows.
// Text goes in with textContent only, never as HTML.

import { fragmentId } from "./session.js";
import { badge, STUDIO_APPS } from "./targets.js";

const $ = (id) => document.getElementById(id);

export function progress(words) {
  $("progress").textContent = words;
}

/** Says a list is on its way; the list already shown stays until the new one replaces it. */
export function loading() {
  $("updated").textContent = "Refreshing…";
}

export function problem({ words, reference = "" }, retry = null) {
  $("problem-words").textContent = words;
  $("problem-reference").textContent = reference;
  const button = $("problem-retry");
  button.hidden = !retry;
  button.onclick = retry;
  $("problem").hidden = false;
}

export function clearProblem() {
  $("problem").hidden = true;
}

export function signedOut(words = "") {
  $("who").hidden = true;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  progress(words);
}

export function signedIn(name) {
  $("who-name").textContent = name;
  $("who").hidden = false;
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
}

export function fillAppChooser(chosen) {
  const select = $("studio-app");
  select.replaceChildren(
    ...STUDIO_APPS.map(({ value, label }) => new Option(label, value, false, value === chosen)),
  );
}

function row(kind, { name, detail, badge: status, action }, onOpen) {
  const item = $("row-template").content.firstElementChild.cloneNode(true);
  item.dataset.target = name;
  item.querySelector(".row-name").textContent = name;
  item.querySelector(".row-detail").textContent = detail;
  showBadge(item.querySelector(".badge"), status);
  const button = item.querySelector(".open");
  button.textContent = action.label;
  button.setAttribute("aria-label", `${action.label} ${name}`);
  button.disabled = !action.enabled;
  const note = item.querySelector(".note");
  note.textContent = action.note;
  note.hidden = !action.note;
  if (action.note) {
    note.id = `note-${kind}-${name}`; // a notebook and a space may share a name
    button.setAttribute("aria-describedby", note.id);
  }
  button.addEventListener("click", onOpen);
  return item;
}

/** Renders the lists; `onOpen(row)` is called when a row's Open is pressed. */
export function targets({ notebooks, unchecked, spaces, studio, empty, userId }, onOpen) {
  $("notebook-list").replaceChildren(...notebooks.map((r) => row("notebook", r, () => onOpen(r))));
  $("notebooks-unchecked").textContent = unchecked;
  $("notebooks-unchecked").hidden = !unchecked;
  // "None for you" would be untrue while some could not be checked.
  $("notebooks-none").hidden = notebooks.length > 0 || Boolean(unchecked);
  $("notebooks").hidden = empty;
  $("studio").hidden = !studio;
  if (studio) {
    $("studio-profile").textContent = studio.userProfile;
    $("space-list").replaceChildren(...spaces.map((r) => row("space", r, () => onOpen(r))));
    $("spaces-none").hidden = spaces.length > 0;
  }
  $("empty").hidden = !empty;
  $("empty-user-id").textContent = userId;
  // The section links only help when there are two sections.
  $("sections").hidden = !studio || empty;
  const count = notebooks.length + spaces.length;
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  $("updated").textContent = `${count} ${count === 1 ? "item" : "items"} · updated ${time}`;
}

function showBadge(element, { label, tone }) {
  element.textContent = label;
  element.className = `badge badge-${tone}`;
}

/** Shows a notebook as starting until the next refresh says otherwise. */
export function markStarting(name) {
  const item = document.querySelector(`#notebook-list [data-target="${CSS.escape(name)}"]`);
  if (item) showBadge(item.querySelector(".badge"), badge("Pending"));
}

/** Brings the section named by the URL's fragment into view, as a return to the page should. */
export function showPlace(hash) {
  const id = fragmentId(hash);
  const target = id ? document.getElementById(id) : null;
  if (target && !target.hidden) {
    target.scrollIntoView();
    target.focus({ preventScroll: true });
  }
}
