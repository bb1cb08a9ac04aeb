// What running costs and when it stops: a target's price, the time the running-time policy stops
// it, and the "Keep running until…" control, decided from the gate's `/targets` fields
// (`pricePerHour`, `costSoFar`, `currency`, `stopsAt`, `keptUntil`, `keep`, `keepUntilMax`).
// Plain functions over plain data and a `now` in ms (no DOM), so tests/portal runs them under
// Node. Times are shown in the browser's own time zone, on a 24-hour clock.

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

const pad = (n) => String(n).padStart(2, "0");

/** A time the gate sent (RFC 3339) as a Date, or null when there is none or it does not parse. */
export function parseTime(value) {
  if (typeof value !== "string" || value === "") return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/**
 * A time as a person reads it, in local time: "18:00" today, "18:00 tomorrow", else with its date,
 * "18:00 on Sat 6 Dec" (and the year when it is not this year's). Null for no readable time.
 */
export function clockText(value, now) {
  const when = value instanceof Date ? value : parseTime(value);
  if (!when) return null;
  const today = new Date(now);
  const clock = `${pad(when.getHours())}:${pad(when.getMinutes())}`;
  if (sameDay(when, today)) return clock;
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  if (sameDay(when, tomorrow)) return `${clock} tomorrow`;
  const year = when.getFullYear() === today.getFullYear() ? "" : ` ${when.getFullYear()}`;
  return `${clock} on ${WEEKDAYS[when.getDay()]} ${when.getDate()} ${MONTHS[when.getMonth()]}${year}`;
}

/**
 * When a running target stops, in words: "Stops at 18:00"; "Kept until 18:00 tomorrow" when a keep
 * is what decides it (the gate's `stopsAt` is the later of its limit and the keep); both when the
 * keep ends before the limit does, so it changes nothing. Empty when the gate says neither.
 */
export function scheduleText({ stopsAt, keptUntil } = {}, now) {
  const stops = parseTime(stopsAt);
  const kept = parseTime(keptUntil);
  const parts = [];
  if (stops && !(kept && kept >= stops)) parts.push(`Stops at ${clockText(stops, now)}`);
  if (kept) parts.push(`Kept until ${clockText(kept, now)}`);
  return parts.join(" · ");
}

const isAmount = (value) => typeof value === "number" && Number.isFinite(value) && value >= 0;

/**
 * An amount in the gate's currency ("$0.05", "$1.408"): at least cents, and up to four decimals
 * so a price per hour is shown as the Price List gives it, not rounded to another price. Null
 * without a currency or an amount: the portal never shows a price it had to guess.
 */
export function moneyText(amount, currency, maxDecimals = 4) {
  if (!isAmount(amount) || typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) return null;
  try {
    return new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: maxDecimals,
    }).format(amount);
  } catch {
    return null; // a code Intl does not know: no price rather than a wrong one
  }
}

/**
 * "≈ $0.05/h · $1.23 so far" for a running target whose price the gate knows; "≈ $0.05/h" without
 * a cost so far; empty when it is not running (a stopped target is not billed by the hour) or the
 * gate sent no price or no currency (the Price List could not be read): no zero, no guess.
 */
export function priceText({ pricePerHour, costSoFar } = {}, currency, running) {
  if (!running) return "";
  const perHour = moneyText(pricePerHour, currency);
  if (!perHour) return "";
  const soFar = moneyText(costSoFar, currency, 2);
  return soFar ? `≈ ${perHour}/h · ${soFar} so far` : `≈ ${perHour}/h`;
}

/** A time as an `<input type="datetime-local">` value, local time to the minute: "2026-12-05T18:00". */
export function inputValue(date) {
  const d = date instanceof Date ? date : new Date(date);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const INPUT_VALUE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/**
 * A `datetime-local` value (the browser's local time) as the RFC 3339 UTC time the keep routes
 * take, "2026-12-05T17:00:00Z"; null for an empty or malformed value, or a date that does not
 * exist (30 February).
 */
export function untilFromInput(value) {
  const match = INPUT_VALUE.exec(typeof value === "string" ? value.trim() : "");
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0));
  const local = new Date(year, month - 1, day, hour, minute, second);
  if (local.getMonth() !== month - 1 || local.getDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  return local.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The "Keep running until…" control of a target, or null when the gate gave it no `keep` route
 * (not running, its kind has no limit, or keeping is off). `min` is now and `max` the gate's
 * `keepUntilMax` (`latest`), both as input values; the time offered first is the current keep, else an hour
 * past when it would stop, on the hour, and never past the latest allowed.
 */
export function keepControl({ keep, keepUntilMax, keptUntil, stopsAt } = {}, now) {
  if (typeof keep !== "string" || keep === "") return null;
  const latest = parseTime(keepUntilMax);
  const kept = parseTime(keptUntil);
  let offered;
  if (kept && kept.getTime() > now) {
    offered = kept;
  } else {
    offered = new Date(Math.max(parseTime(stopsAt)?.getTime() ?? now, now) + HOUR_MS);
    // On the local hour (not UTC's: a zone may be half an hour off it).
    if (offered.getMinutes() || offered.getSeconds() || offered.getMilliseconds()) offered.setMinutes(60, 0, 0);
  }
  if (latest && offered > latest) offered = latest;
  return {
    path: keep,
    min: inputValue(new Date(now)),
    max: latest ? inputValue(latest) : "",
    value: inputValue(offered),
    latest: latest ? latest.toISOString() : "", // for the words of a keep refused as too long
  };
}

/** What the page says once a keep is done: "alice-analysis is kept running until 18:00 tomorrow." */
export function keptWords(answer, name, now) {
  const when = clockText(answer?.keptUntil, now);
  return when ? `${name} is kept running until ${when}.` : `${name} is kept running.`;
}

/**
 * Words for a keep the gate refused. A 400 or 409 carries the gate's own message, which says what
 * was wrong (too long: the latest time allowed; not running); the time a too-long keep may go to
 * is added in local time. Null for errors that are not the keep's own (network, throttling,
 * SageMaker failing): those are said as for any other call.
 */
export function keepErrorWords(error, { name, keepUntilMax } = {}, now = Date.now()) {
  const message = typeof error?.message === "string" && error.message !== error.code ? error.message.trim() : "";
  switch (error?.code) {
    case "action_disabled":
      return `${name} cannot be kept running: this portal is not set up to keep things running past their limit. Ask your admin.`;
    case "not_found":
      return `${name} is not yours, or it no longer exists. Refresh the list to see what is yours.`;
    default:
      break;
  }
  if (error?.status !== 400 && error?.status !== 409) return null;
  const said = message ? ` ${/[.!?]$/.test(message) ? message : `${message}.`}` : "";
  const latest = error.code === "keep_too_long" ? clockText(keepUntilMax, now) : null;
  const hint = latest
    ? ` Choose ${latest} or earlier.`
    : error.code === "not_running"
      ? " Refresh the list to see its state."
      : said ? "" : " Choose a time later than now.";
  return `${name} was not kept running.${said}${hint}`;
}

/** "Idle apps stop after 60 min (SageMaker)": a Studio domain's own idle shutdown, or empty. */
export function idleShutdownText(minutes) {
  return Number.isInteger(minutes) && minutes > 0 ? `Idle apps stop after ${minutes} min (SageMaker)` : "";
}
