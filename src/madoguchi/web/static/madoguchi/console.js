// Live console: events say *what* changed; the page re-fetches the fragment through the
// same access-checked routes as a reload would.
import { connect, refresh } from "./socket.js";

const root = document.getElementById("console");
if (root) {
  const reference = root.dataset.reference;
  let pending = null;
  const schedule = (fn) => {
    clearTimeout(pending);
    pending = setTimeout(fn, 100);
  };
  connect(root.dataset.ws, (event) => {
    if (!event.kind || event.kind === "hello" || event.kind === "pong") return;
    if (event.kind === "sla.breached" || event.kind === "sla.warning") notify(event);
    if (reference) {
      if (event.inquiry !== reference) return;
      if (event.kind === "inquiry.revoked") {
        location.assign("/console/");
        return;
      }
      schedule(() => refresh(root.dataset.threadUrl, document.getElementById("thread")));
    } else {
      if (event.kind === "inquiry.revoked") {
        document.querySelector(`tr[data-reference="${CSS.escape(event.inquiry)}"]`)?.remove();
        return;
      }
      schedule(() => refresh(root.dataset.rowsUrl, document.getElementById("rows")));
    }
  });
}

function notify(event) {
  let box = document.getElementById("live-notices");
  if (!box) {
    box = document.createElement("div");
    box.id = "live-notices";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    document.body.append(box);
  }
  const item = document.createElement("p");
  const link = document.createElement("a");
  link.href = `/console/i/${encodeURIComponent(event.inquiry)}/`;
  link.textContent = event.inquiry; // text, never HTML
  const root = document.getElementById("console");
  const label = event.kind === "sla.breached" ? root.dataset.labelBreached : root.dataset.labelWarning;
  item.append(`${label} `, link);
  box.append(item);
  setTimeout(() => item.remove(), 30000);
}
