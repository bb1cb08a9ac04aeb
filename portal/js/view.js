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

function row(kind, { key, name, detail, flag, badge: status, action, control, price, schedule, keep }, onOpen, onControl, onKeep) {
  const item = $("row-template").content.firstElementChild.cloneNode(true);
  item.dataset.target = name;
  item.dataset.kind = kind;
  item.dataset.key = key; // unique where names are not (a space of the same name in two domains)
  item.querySelector(".row-name").textContent = name;
  item.querySelector(".row-detail").textContent = detail;
  showText(item.querySelector(".row-price"), price);
  showText(item.querySelector(".row-schedule"), schedule);
  const mark = item.querySelector(".flag");
  mark.textContent = flag ?? "";
  mark.hidden = !flag;
  showBadge(item.querySelector(".badge"), status);
  const button = item.querySelector(".open");
  button.textContent = action.label;
  button.setAttribute("aria-label", `${action.label} ${name}`);
  button.disabled = !action.enabled;
  const note = item.querySelector(".note");
  note.textContent = action.note;
  note.hidden = !action.note;
  if (action.note) {
    note.id = `note-${key}`; // a notebook and a space may share a name
    button.setAttribute("aria-describedby", note.id);
  }
  button.addEventListener("click", onOpen);
  const lifecycle = item.querySelector(".lifecycle");
  if (control) {
    lifecycle.hidden = false;
    lifecycle.textContent = control.label;
    lifecycle.dataset.action = control.action;
    lifecycle.setAttribute("aria-label", `${control.label} ${name}`);
    if (mark.textContent) {
      mark.id = `flag-${key}`;
      lifecycle.setAttribute("aria-describedby", mark.id);
    }
    lifecycle.addEventListener("click", onControl);
  }
  if (keep) keepForm(item, key, name, keep, onKeep);
  return item;
}

function showText(element, words) {
  element.textContent = words ?? "";
  element.hidden = !words;
}

/**
 * A row's "Keep running until…": a labelled local date and time, bounded by now and the latest the
 * gate allows, and a Keep button named with the target. Enter in the field submits it too.
 */
function keepForm(item, key, name, keep, onKeep) {
  const form = item.querySelector(".keep");
  form.hidden = false;
  const input = form.querySelector(".keep-until");
  input.id = `keep-${key}`;
  const label = form.querySelector(".keep-label");
  label.htmlFor = input.id;
  // Each row has one: the name (read, not shown) tells them apart for a screen reader.
  label.append(Object.assign(document.createElement("span"), { className: "visually-hidden", textContent: ` (${name})` }));
  input.min = keep.min;
  if (keep.max) input.max = keep.max;
  input.value = keep.value;
  input.dataset.offered = keep.value;
  const button = form.querySelector(".keep-button");
  button.setAttribute("aria-label", `Keep ${name} running`);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onKeep(input.value, button);
  });
}

/** Times a person has chosen in keep fields but not sent, by row: a redraw must not lose them. */
function chosenKeepTimes() {
  const chosen = new Map();
  for (const input of document.querySelectorAll(".rows .keep-until")) {
    if (input.value !== input.dataset.offered) chosen.set(input.closest(".row").dataset.key, input.value);
  }
  return chosen;
}

function restoreKeepTimes(chosen) {
  for (const [key, value] of chosen) {
    const input = rowElement(key)?.querySelector(".keep-until");
    if (input && !input.closest(".keep").hidden) input.value = value;
  }
}

/** Where the keyboard focus is in a list, to put it back after the list is drawn again. */
function focusedPlace() {
  const focused = document.activeElement;
  const item = focused?.closest?.(".rows .row");
  if (!item) return null;
  const part = ["open", "lifecycle", "keep-until", "keep-button"].find((c) => focused.classList.contains(c)) ?? "row-name";
  return { key: item.dataset.key, part };
}

function restoreFocus(place) {
  if (!place) return;
  const item = rowElement(place.key);
  if (!item) return;
  const same = item.querySelector(`.${place.part}`);
  // The same button if it is still there and usable, else the row's name: never lost to <body>.
  const target = same && !same.closest("[hidden]") && !same.disabled ? same : item.querySelector(".row-name");
  target.focus({ preventScroll: true });
}

function rowElement(key) {
  return document.querySelector(`.rows [data-key="${CSS.escape(key)}"]`);
}

// Each Studio card's latest data and open handler, for its Open Studio button (the card stays
// across redraws, so a chosen app and the keyboard focus stay too; its routes come from the list).
const cardData = new WeakMap();

/** A new Studio card for one domain: its app chooser remembers the choice through `appChoice`. */
function studioCard(domainId, appChoice) {
  const element = $("studio-template").content.firstElementChild.cloneNode(true);
  element.dataset.domain = domainId;
  const title = element.querySelector(".studio-title");
  title.id = `studio-title-${domainId}`;
  element.setAttribute("aria-labelledby", title.id);
  const select = element.querySelector(".studio-app");
  select.id = `studio-app-${domainId}`;
  element.querySelector(".studio-app-label").htmlFor = select.id;
  const chosen = appChoice.get(domainId);
  select.replaceChildren(...STUDIO_APPS.map(({ value, label }) => new Option(label, value, false, value === chosen)));
  select.addEventListener("change", () => appChoice.set(domainId, select.value));
  const button = element.querySelector(".open-studio");
  button.id = `open-studio-${domainId}`;
  // "Open Studio research": with a card per domain, "Open Studio" alone would not say which.
  button.setAttribute("aria-labelledby", `${button.id} ${title.id}`);
  button.addEventListener("click", () => {
    const { card, onOpen } = cardData.get(element);
    onOpen({ kind: "studio", key: card.key, name: card.title, open: card.open, launch: card.launch, app: select.value });
  });
  return element;
}

/** Draws the Studio cards in order, keeping each domain's card element from the last drawing. */
function studioCards(cards, draw, onOpen, appChoice) {
  const list = $("studio-domains");
  const before = new Map([...list.children].map((element) => [element.dataset.domain, element]));
  const elements = cards.map((card) => {
    const element = before.get(card.domainId) ?? studioCard(card.domainId, appChoice);
    cardData.set(element, { card, onOpen });
    element.querySelector(".studio-title").textContent = card.title;
    element.querySelector(".studio-profile").textContent = card.userProfile;
    showText(element.querySelector(".studio-idle"), card.idle);
    element.querySelector(".space-list").replaceChildren(...card.spaces.map((r) => draw("space", r)));
    element.querySelector(".spaces-none").hidden = card.spaces.length > 0;
    return element;
  });
  for (const element of before.values()) if (!elements.includes(element)) element.remove();
  // Moved only when out of place: moving an element would drop the keyboard focus inside it.
  elements.forEach((element, i) => {
    if (list.children[i] !== element) list.insertBefore(element, list.children[i] ?? null);
  });
}

/**
 * Renders the lists; `onOpen(row)` is called when a row's Open (or a Studio card's Open Studio,
 * with the chosen `app`) is pressed and `onControl(row)` when its Start / Stop is. `appChoice`
 * (`get(domainId)`, `set(domainId, app)`) keeps each card's chosen app. Keyboard focus inside a
 * list stays on the same row's button.
 */
export function targets({ notebooks, unchecked, studios, mlflow, empty, userId }, onOpen, onControl, appChoice, onKeep) {
  const place = focusedPlace();
  const chosen = chosenKeepTimes();
  const draw = (kind, r) =>
    row(kind, r, () => onOpen(r), (event) => onControl(r, event.currentTarget), (value, button) => onKeep(r, value, button));
  $("notebook-list").replaceChildren(...notebooks.map((r) => draw("notebook", r)));
  $("notebooks-unchecked").textContent = unchecked;
  $("notebooks-unchecked").hidden = !unchecked;
  // "None for you" would be untrue while some could not be checked.
  $("notebooks-none").hidden = notebooks.length > 0 || Boolean(unchecked);
  $("notebooks").hidden = empty;
  $("studio").hidden = studios.length === 0;
  studioCards(studios, draw, onOpen, appChoice);
  $("mlflow-server-list").replaceChildren(...mlflow.servers.map((r) => draw(r.kind, r)));
  $("mlflow-app-list").replaceChildren(...mlflow.apps.map((r) => draw(r.kind, r)));
  $("mlflow-servers").hidden = mlflow.servers.length === 0;
  $("mlflow-apps").hidden = mlflow.apps.length === 0;
  $("mlflow-unchecked").textContent = mlflow.unchecked;
  $("mlflow-unchecked").hidden = !mlflow.unchecked;
  // Shown when there is something, or when something could not be checked (as for notebooks).
  $("mlflow").hidden = mlflow.servers.length + mlflow.apps.length === 0 && !mlflow.unchecked;
  $("empty").hidden = !empty;
  $("empty-user-id").textContent = userId;
  // The section links only help when there are two sections or more, and name only those shown.
  const shown = { notebooks: !empty, studio: !$("studio").hidden, mlflow: !$("mlflow").hidden };
  for (const link of $("sections").querySelectorAll("a")) link.hidden = !shown[link.hash.slice(1)];
  $("sections").hidden = Object.values(shown).filter(Boolean).length < 2;
  const spaces = studios.reduce((sum, card) => sum + card.spaces.length, 0);
  const count = notebooks.length + spaces + mlflow.servers.length + mlflow.apps.length;
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  $("updated").textContent = `${count} ${count === 1 ? "item" : "items"} · updated ${time}`;
  restoreKeepTimes(chosen);
  restoreFocus(place);
}

/** Says what a start or stop is doing or did (a polite status region: read out, not shouted). */
export function activity(words) {
  $("activity").textContent = words;
}

/**
 * A row whose Start / Stop is under way: its button says so and is marked unavailable. Not
 * `disabled`: that would drop the keyboard focus to the page (app.js ignores a second press).
 */
export function markBusy(key, words) {
  const item = rowElement(key);
  if (!item) return;
  item.setAttribute("aria-busy", "true");
  const button = item.querySelector(".lifecycle");
  button.textContent = words;
  button.setAttribute("aria-disabled", "true");
}

/** A row the gate has just answered for: the new status, and no button until the list is redrawn. */
export function markStatus(key, shown) {
  const item = rowElement(key);
  if (!item) return;
  item.removeAttribute("aria-busy");
  showBadge(item.querySelector(".badge"), shown);
  // The row's note spoke of the old state ("It is stopped…"); the next redraw brings the new one.
  item.querySelector(".note").hidden = true;
  item.querySelector(".open").removeAttribute("aria-describedby");
  const button = item.querySelector(".lifecycle");
  const hadFocus = document.activeElement === button;
  button.hidden = true;
  if (hadFocus) item.querySelector(".row-name").focus({ preventScroll: true });
}

/** A row whose keep is under way (`busy`), or no longer: as `markBusy`, for its Keep button. */
export function markKeeping(key, busy) {
  const item = rowElement(key);
  if (!item) return;
  const button = item.querySelector(".keep-button");
  if (busy) {
    item.setAttribute("aria-busy", "true");
    button.textContent = "Keeping…";
    button.setAttribute("aria-disabled", "true");
  } else {
    item.removeAttribute("aria-busy");
    button.textContent = "Keep";
    button.removeAttribute("aria-disabled");
  }
}

/** Puts a row's Start / Stop back as it was (the action failed; nothing changed). */
export function unmarkBusy(key, label) {
  const item = rowElement(key);
  if (!item) return;
  item.removeAttribute("aria-busy");
  const button = item.querySelector(".lifecycle");
  button.textContent = label;
  button.removeAttribute("aria-disabled");
}

/**
 * Asks whether to go on, in a modal <dialog> that names what will stop; resolves to true only
 * when the person confirms. Cancel and Esc resolve to false. Focus starts on Cancel (the safe
 * choice) and goes back to `returnTo` (or its row, if the list was redrawn meanwhile).
 */
export function confirmAction({ title, words, button }, returnTo) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-words").textContent = words;
  $("confirm-yes").textContent = button;
  const item = returnTo?.closest(".row");
  const place = item ? { key: item.dataset.key, part: "lifecycle" } : null;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const confirmed = dialog.returnValue === "confirm";
        dialog.returnValue = "";
        if (returnTo?.isConnected) returnTo.focus({ preventScroll: true });
        else restoreFocus(place);
        resolve(confirmed);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function showBadge(element, { label, tone }) {
  element.textContent = label;
  element.className = `badge badge-${tone}`;
}

/** Shows a row (a notebook, a tracking server) as starting until the next refresh says otherwise. */
export function markStarting(key) {
  const item = rowElement(key);
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
