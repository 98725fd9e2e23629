// Live console: events say *what* changed; the page re-fetches the fragment through the
// same access-checked routes as a reload would.
import { connect, refresh } from "./socket.js";

const root = document.getElementById("console");
let live = null;
if (root) {
  const reference = root.dataset.reference;
  // At most one refresh per 100 ms per fragment: a burst of events makes one request,
  // and steady traffic still refreshes (a debounce would wait for a quiet moment forever).
  const pending = new Map();
  const schedule = (fn, key = "main") => {
    if (pending.has(key)) return;
    pending.set(key, setTimeout(() => {
      pending.delete(key);
      fn();
    }, 100));
  };
  live = connect(root.dataset.ws, (event) => {
    // On an inquiry's page, watch it: its new thread entries come to this socket only.
    if (event.kind === "hello" && reference) live?.send({ kind: "watch", inquiry: reference });
    if (!event.kind || event.kind === "hello" || event.kind === "pong") return;
    if (event.kind === "sla.breached" || event.kind === "sla.warning") notify(event);
    if (event.kind === "chat.assigned" && event.inquiry !== reference) notify(event, root.dataset.labelChat);
    // A call waiting (for operators on duty, or passed to this one): the queue is on the
    // live page, which shows it anyway.
    if (event.kind === "call.waiting" && !root.dataset.callUrl) {
      notify(event, event.for_you ? root.dataset.labelCallPassed : root.dataset.labelCall, "/console/chat/#calls");
    }
    if (root.dataset.chatUrl) {
      if (event.kind.startsWith("chat.") || event.kind.startsWith("inquiry.")) {
        schedule(() => refresh(root.dataset.chatUrl, document.getElementById("chat-queue")));
      }
      // The call queue (the same page: the same availability switch counts for both).
      if (root.dataset.callUrl && (event.kind.startsWith("call.") || event.kind.startsWith("inquiry."))) {
        schedule(() => refresh(root.dataset.callUrl, document.getElementById("call-queue")), "calls");
      }
      return;
    }
    if (reference) {
      if (event.inquiry !== reference) return;
      if (event.kind === "inquiry.revoked") {
        location.assign("/console/");
        return;
      }
      if (event.kind === "call.invited_joined") {
        // The requester entered this page's connection code: the call is live.
        const joined = document.getElementById("call-joined");
        const output = document.getElementById("call-code");
        if (joined && output) output.replaceChildren(joined.content.cloneNode(true));
        return;
      }
      if (event.kind === "chat.typing") {
        const typing = document.getElementById("chat-typing");
        if (typing) typing.hidden = !event.on;
        return;
      }
      if (event.kind === "message.created") {
        schedule(() => appendNew(root.dataset.threadUrl), "thread");
      } else {
        schedule(() => refresh(root.dataset.threadUrl, document.getElementById("thread")));
      }
    } else if (!event.kind.startsWith("chat.") && !event.kind.startsWith("call.")) {
      if (event.kind === "inquiry.revoked") {
        document.querySelector(`tr[data-reference="${CSS.escape(event.inquiry)}"]`)?.remove();
        return;
      }
      schedule(() => refresh(root.dataset.rowsUrl, document.getElementById("rows")));
    }
  });
}

// New thread entries only: the entries after the last one shown (a full refresh if the
// thread is not on the page yet).
async function appendNew(url) {
  const list = document.querySelector("#thread ol.thread");
  const last = list?.querySelector("li.msg:last-of-type");
  if (!list || !last) {
    await refresh(url, document.getElementById("thread"));
    return;
  }
  const after = last.id.replace(/^m/, "");
  const response = await fetch(`${url}?after=${encodeURIComponent(after)}`, {
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
  });
  if (response.redirected || !response.ok) return;
  const html = (await response.text()).trim();
  if (!html) return;
  const template = document.createElement("template");
  template.innerHTML = html; // the server's escaped rendering, as a full refresh would insert
  for (const item of template.content.querySelectorAll("li.msg")) {
    if (!document.getElementById(item.id)) list.append(item);
  }
}

function notify(event, label, href) {
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
  link.href = href || `/console/i/${encodeURIComponent(event.inquiry)}/`;
  link.textContent = event.inquiry; // text, never HTML
  const root = document.getElementById("console");
  const text = label || (event.kind === "sla.breached" ? root.dataset.labelBreached : root.dataset.labelWarning);
  item.append(`${text} `, link);
  box.append(item);
  setTimeout(() => item.remove(), 30000);
}

// --- a live chat on the inquiry page ----------------------------------------------------

const composer = document.getElementById("chat-composer");
if (composer) {
  const box = document.getElementById("chat-box");
  const body = document.getElementById("chat-body");
  const error = document.getElementById("chat-error");
  const newId = () => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  let typingSent = false;
  const typing = (on) => {
    if (on === typingSent) return;
    typingSent = on;
    live?.send({ kind: "typing", inquiry: box.dataset.reference, on });
  };
  body.addEventListener("input", () => typing(body.value.length > 0));
  body.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  document.getElementById("chat-canned")?.addEventListener("change", (e) => {
    if (!e.target.value) return;
    body.value = body.value ? `${body.value}\n${e.target.value}` : e.target.value;
    e.target.value = "";
    body.focus();
  });
  // One id per message: a retry after a failed request is the same message.
  let cid = newId();
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(composer);
    data.set("cid", cid);
    error.textContent = "";
    let response;
    try {
      response = await fetch(box.dataset.sendUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
      });
    } catch {
      error.textContent = composer.dataset.offline || "…";
      return;
    }
    const result = await response.json().catch(() => ({}));
    if (!response.ok || !result.ok) {
      error.textContent = result.message || String(response.status);
      return;
    }
    cid = newId();
    composer.reset();
    typing(false);
    body.focus();
    refresh(document.getElementById("console").dataset.threadUrl, document.getElementById("thread"));
  });
}

// --- a connection code for an online call (the inquiry page) -----------------------------

const invite = document.getElementById("call-invite");
if (invite) {
  const output = document.getElementById("call-code");
  invite.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(invite);
    let result = {};
    try {
      const response = await fetch(invite.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" },
      });
      result = await response.json().catch(() => ({}));
    } catch {
      result = { message: invite.dataset.offline };
    }
    output.replaceChildren();
    if (!result.ok || typeof result.code !== "string") {
      output.textContent = result.message || invite.dataset.offline || "…";
      return;
    }
    // Digits in two groups of three, as they are read out on the phone.
    const code = document.createElement("p");
    code.className = "code";
    code.textContent = `${result.code.slice(0, 3)} ${result.code.slice(3)}`;
    const note = document.createElement("p");
    note.textContent = invite.dataset.note;
    output.append(code, note);
  });
}
