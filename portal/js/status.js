// SageMaker's states in a person's words, with a tone that colours them. No DOM, for tests/portal.

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

/** The state's words without the trailing ellipsis, lower case: "running", "starting". */
export function stateWords(status) {
  return badge(status).label.replace(/…$/, "").toLowerCase();
}
