// The chat widget (runs in the desk's frame, or as the desk's /chat/ page).
//
// Never lose a message: every message gets a client id, is shown as "sending" and kept
// (sessionStorage) until the desk acknowledges it, and is re-sent with the same id after a
// reconnect; the desk stores it once. Messages are ordered by the desk's sequence number
// and rendered as text only.
import { connect } from "./socket.js";

const root = document.getElementById("chat");
const S = JSON.parse(document.getElementById("chat-strings").textContent);
const PARENTS = JSON.parse(document.getElementById("chat-parents").textContent);
const embedded = root.dataset.embedded === "1" && window.parent !== window;
const TOKEN_KEY = "madoguchi_chat";
const PENDING_KEY = "madoguchi_chat_pending";

const $ = (id) => document.getElementById(id);
const log = $("chat-list"); // the messages; #chat-log around it is the scrolling live region
const input = $("chat-input");
const status = $("chat-status");

let lang = root.dataset.lang || "ja";
let token = null;
let parentOrigin = null;
let page = "";
let live = null;
let connected = false; // the desk has welcomed this widget on the current socket
let lastSeq = 0;
let state = "new";
// What "talk to a person" will find now (from the desk): open, closed_hours or busy.
let person = { status: "open", next: "" };
let personAfterStart = false; // asked for a person before the first message was stored
let pending = loadPending(); // [{cid, body}]
const shown = new Map(); // seq -> element

if (/^#[0-9a-fA-F]{6}$/.test(root.dataset.color || "")) {
  document.documentElement.style.setProperty("--chat-accent", root.dataset.color);
}

function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function loadPending() {
  try {
    const data = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "[]");
    return Array.isArray(data) ? data.filter((p) => p && typeof p.cid === "string" && typeof p.body === "string") : [];
  } catch {
    return [];
  }
}

function savePending() {
  try {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  } catch {
    /* storage may be unavailable in a third-party frame: memory still holds them */
  }
}

// --- the token: the host page keeps it in a first-party cookie (via the loader) --------------

function storeToken(value) {
  token = value;
  if (embedded && parentOrigin) {
    window.parent.postMessage({ type: "madoguchi:token", token: value }, parentOrigin);
  } else if (!embedded) {
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* ignore */
    }
  }
}

function parentAllowed(origin) {
  if (origin === location.origin) return true;
  return PARENTS.includes(origin) || PARENTS.includes("*");
}

function start() {
  if (!embedded) {
    try {
      token = localStorage.getItem(TOKEN_KEY);
    } catch {
      token = null;
    }
    page = document.referrer || location.href;
    openSocket();
    return;
  }
  let started = false;
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || !parentAllowed(event.origin)) return;
    const data = event.data || {};
    if (data.type === "madoguchi:init" && !started) {
      started = true;
      parentOrigin = event.origin;
      token = typeof data.token === "string" ? data.token : null;
      page = typeof data.page === "string" ? data.page.slice(0, 300) : "";
      openSocket();
    } else if (data.type === "madoguchi:focus") {
      input.focus();
    }
  });
  window.parent.postMessage({ type: "madoguchi:ready" }, "*"); // carries nothing secret
  setTimeout(() => {
    if (!started) {
      started = true;
      openSocket(); // a host that does not answer: chat without continuity
    }
  }, 2000);
}

// --- the connection -------------------------------------------------------------------

function openSocket() {
  live = connect("/ws/chat/", handle, {
    onOpen: () => live.send({ t: "hello", token, lang, page, after: lastSeq }),
    onClose: () => {
      const wasConnected = connected;
      connected = false;
      root.dataset.connected = "0";
      if (wasConnected || pending.length) setStatus(S.offline);
    },
    maxDelay: 10000,
  });
}

function sendFrame(data) {
  return connected && live !== null && live.send(data);
}

setInterval(() => sendFrame({ t: "ping" }), 25000);

function handle(data) {
  switch (data.t) {
    case "welcome":
      connected = true;
      root.dataset.connected = "1";
      if (data.reset) storeToken(null);
      if (data.lang) lang = data.lang;
      for (const m of data.messages || []) render(m);
      if (data.state) applyState(data);
      if (typeof data.person === "string") person = { status: data.person, next: data.operators_next || "" };
      if ((state === "new" || state === "bot") && typeof data.operators_open === "boolean") {
        setStatus(availabilityText());
      }
      flush();
      break;
    case "token":
      storeToken(data.token);
      if (personAfterStart) {
        personAfterStart = false;
        state = "bot";
        act("person");
      }
      break;
    case "ack":
      acknowledge(data.cid, data.seq);
      break;
    case "message":
      render(data.message);
      break;
    case "state":
      applyState(data);
      break;
    case "typing":
      $("chat-typing").hidden = !data.on;
      break;
    case "offer":
      offer(data);
      break;
    case "mail_ok":
      $("chat-mail").hidden = true;
      setStatus(S.mail_sent);
      break;
    case "rated":
      $("chat-rate").hidden = true;
      setStatus(S.rated);
      break;
    case "error":
      failed(data);
      break;
    default:
      break;
  }
}

// --- sending ----------------------------------------------------------------------------

function flush() {
  for (const p of pending) {
    if (!sendFrame({ t: "msg", cid: p.cid, body: p.body })) return;
  }
}

function send(body) {
  const item = { cid: newId(), body };
  pending.push(item);
  savePending();
  drawPending(item);
  if (!sendFrame({ t: "msg", cid: item.cid, body })) setStatus(S.offline);
}

function drawPending(item) {
  if (log.querySelector(`[data-cid="${item.cid}"]`)) return;
  const li = bubble("requester", S.you, item.body);
  li.dataset.cid = item.cid;
  li.classList.add("pending");
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = S.sending;
  li.append(note);
  log.append(li);
  scroll();
}

function acknowledge(cid, seq) {
  pending = pending.filter((p) => p.cid !== cid);
  savePending();
  const li = log.querySelector(`[data-cid="${CSS.escape(cid)}"]`);
  if (li && !shown.has(seq)) {
    li.classList.remove("pending", "failed");
    li.querySelector(".note")?.remove();
    li.dataset.seq = String(seq);
    shown.set(seq, li);
    if (seq > lastSeq) lastSeq = seq;
  } else if (li && shown.get(seq) !== li) {
    li.remove();
  }
}

function failed(data) {
  if (data.cid && (data.code === "rate" || data.code === "retry")) {
    setTimeout(flush, data.code === "rate" ? 2000 : 1000); // still pending: sent again, stored once
    return;
  }
  if (data.cid) {
    personAfterStart = false; // the first message was refused: nothing to hand over yet
    pending = pending.filter((p) => p.cid !== data.cid);
    savePending();
    const li = log.querySelector(`[data-cid="${CSS.escape(data.cid)}"]`);
    if (li) {
      li.classList.remove("pending");
      li.classList.add("failed");
      const note = li.querySelector(".note") || li.appendChild(document.createElement("p"));
      note.className = "note";
      note.textContent = `${S.failed}: ${data.message || ""}`;
    }
    return;
  }
  setStatus(data.message || S.failed);
}

// --- rendering (text only) -------------------------------------------------------------

function bubble(kind, who, text) {
  const li = document.createElement("li");
  li.className = `chat-msg ${kind}`;
  const w = document.createElement("p");
  w.className = "who";
  w.textContent = who;
  const t = document.createElement("p");
  t.className = "text";
  t.textContent = text;
  li.append(w, t);
  return li;
}

function deskLink(path) {
  // Only the desk's own paths become links (never javascript: or another site).
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//")) return null;
  return new URL(path, location.origin).href;
}

function safeLink(href) {
  // An article's link: the desk's own paths, or http(s)/mailto addresses elsewhere.
  if (typeof href !== "string") return null;
  if (href.startsWith("/")) return deskLink(href);
  try {
    const url = new URL(href);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function availabilityText() {
  if (person.status === "open") return S.operators_now;
  if (person.status === "closed_hours" && person.next) return format(S.closed_hours, { when: person.next });
  return person.status === "busy" ? S.busy : S.operators_later;
}

function render(m) {
  if (!m || typeof m.seq !== "number" || shown.has(m.seq)) return;
  if (m.cid) {
    const mine = log.querySelector(`[data-cid="${CSS.escape(m.cid)}"]`);
    if (mine) {
      acknowledge(m.cid, m.seq);
      return;
    }
  }
  const meta = m.meta || {};
  if (typeof meta.availability === "string") person = { ...person, status: meta.availability };
  let li;
  if (m.kind === "event") {
    li = document.createElement("li");
    li.className = "chat-msg event";
    li.textContent = m.body;
    const call = meta.event === "call_offered" ? deskLink(meta.link) : null;
    if (call) {
      // The operator offers an online call on this inquiry: the link carries its code.
      const a = document.createElement("a");
      a.href = call;
      a.target = "_blank";
      a.rel = "noopener";
      a.className = "call-offer";
      a.textContent = S.join_call;
      li.append(" ", a);
    }
  } else {
    const who = m.kind === "requester" ? S.you : m.kind === "bot" ? S.bot : m.author || S.staff;
    li = bubble(m.kind, who, m.body);
    if (m.kind === "bot" && meta.title) {
      const title = document.createElement("p");
      title.className = "title";
      title.textContent = meta.title;
      li.insertBefore(title, li.querySelector(".text"));
    }
    for (const l of Array.isArray(meta.links) ? meta.links : []) {
      const target = safeLink(l && l.href);
      if (!target || typeof l.text !== "string") continue;
      const a = document.createElement("a");
      a.href = target;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.className = "answer-link";
      a.textContent = l.text;
      li.append(a);
    }
    const href = deskLink(meta.link);
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = meta.article ? S.open_article : meta.rule === "exam" || meta.rule === "sensitive" ? S.form : href;
      li.append(a);
    }
    if (meta.ask_helpful) li.append(helpful(m.seq, meta.helpful));
    if (Array.isArray(meta.offer)) li.append(offers(meta.offer));
    for (const f of m.files || []) li.append(fileLink(f));
  }
  li.dataset.seq = String(m.seq);
  shown.set(m.seq, li);
  if (m.seq > lastSeq) lastSeq = m.seq;
  // keep the log in the desk's order even when events arrive out of order
  const after = [...log.querySelectorAll("li[data-seq]")].find((x) => Number(x.dataset.seq) > m.seq);
  if (after) log.insertBefore(li, after);
  else log.insertBefore(li, log.querySelector("li.pending") || null);
  if (m.kind !== "requester" && embedded && parentOrigin) {
    window.parent.postMessage({ type: "madoguchi:activity" }, parentOrigin);
  }
  scroll();
}

function helpful(seq, answered) {
  const box = document.createElement("div");
  box.className = "helpful";
  if (answered !== undefined) {
    box.textContent = S.thanks;
    return box;
  }
  const q = document.createElement("span");
  q.textContent = S.helpful_q;
  box.append(q);
  for (const [label, value] of [
    [S.yes, true],
    [S.no, false],
  ]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", () => {
      sendFrame({ t: "helpful", seq, helpful: value });
      box.textContent = S.thanks;
      if (!value) box.append(offers(["person", "form"]));
    });
    box.append(b);
  }
  return box;
}

function offers(list) {
  const box = document.createElement("div");
  box.className = "offers";
  for (const what of list) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = S[what] || what;
    b.dataset.offer = what;
    b.addEventListener("click", () => act(what));
    box.append(b);
  }
  return box;
}

function fileLink(f) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "file";
  b.textContent = `${S.download}: ${f.name}`;
  b.addEventListener("click", async () => {
    const r = await fetch(`/chat/files/${encodeURIComponent(f.id)}/`, { headers: { "X-Chat-Token": token || "" } });
    if (!r.ok) return;
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = f.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  return b;
}

function scroll() {
  const region = $("chat-log");
  region.scrollTop = region.scrollHeight;
}

function setStatus(text) {
  status.textContent = text || "";
}

// --- state, offers, actions -------------------------------------------------------------

function applyState(data) {
  state = data.state;
  root.dataset.state = state;
  $("chat-typing").hidden = true;
  const ended = state === "closed" || state === "email";
  $("chat-person").hidden = state !== "bot" && state !== "new";
  $("chat-end").hidden = ended || state === "new";
  $("chat-new").hidden = !ended;
  input.disabled = ended;
  $("chat-send").disabled = ended;
  $("chat-file").disabled = ended || state === "new";
  if (state === "queued") setStatus(format(S.queued, { position: data.position, minutes: data.wait_minutes }));
  else if (state === "active") setStatus(format(S.active, { name: data.operator || S.staff }));
  else if (state === "email") setStatus(S.by_mail);
  else if (state === "closed") setStatus(S.ended);
  else if (connected) setStatus("");
  $("chat-rate").hidden = !(ended && !data.rated);
  // The desk will answer by mail but has no address yet: ask for one.
  if (state === "email" && data.email === false) {
    $("chat-mail").hidden = false;
  }
}

function offer(data) {
  if (data.outcome === "queued" || data.outcome === "already") return;
  if (data.outcome === "closed_hours" || data.outcome === "busy") {
    person = { status: data.outcome, next: data.next_open || "" };
  }
  let text = data.message || "";
  if (data.outcome === "closed_hours" && data.next_open) text = format(S.closed_hours, { when: data.next_open });
  const li = document.createElement("li");
  li.className = "chat-msg event";
  li.textContent = text;
  if (data.outcome === "signin") {
    // On the desk's own chat page the sign-in comes back here; in a widget on another
    // site the desk's page opens (a frame on another site does not see the sign-in).
    const a = document.createElement("a");
    a.href = `/signin/?next=${encodeURIComponent(embedded ? "/chat/" : location.pathname + location.search)}`;
    if (embedded) {
      a.target = "_blank";
      a.rel = "noopener";
    }
    a.textContent = S.signin;
    li.append(" ", a);
  }
  // The two ways on, once: not again when the last message already offers them.
  const last = [...log.querySelectorAll("li.chat-msg")].pop();
  if (!last || !last.querySelector(".offers [data-offer=mail]")) li.append(offers(["form", "mail"]));
  log.append(li);
  scroll();
}

function act(what) {
  if (what === "person") {
    if (state === "new") return;
    if (person.status === "closed_hours") {
      // Out of hours nobody can take the chat: say so at once, without asking who you are.
      offer({ outcome: person.status, next_open: person.next, message: S.operators_later });
      return;
    }
    if (root.dataset.askCategory === "1") {
      $("chat-category").hidden = false;
      $("chat-member").focus();
    } else {
      sendFrame({ t: "person" });
    }
  } else if (what === "form") {
    openForm();
  } else if (what === "mail") {
    $("chat-mail").hidden = false;
    $("chat-mail-address").focus();
  }
}

function transcriptText() {
  return [...log.querySelectorAll("li.chat-msg.requester .text")].map((p) => p.textContent).join("\n\n");
}

function openForm() {
  const body = transcriptText().slice(0, 3500);
  const subject = (body.split("\n")[0] || "").slice(0, 80);
  const url = new URL(root.dataset.formUrl, location.origin);
  url.searchParams.set("lang", lang);
  if (subject) url.searchParams.set("subject", subject);
  if (body) url.searchParams.set("body", body);
  window.open(url.href, "_blank", "noopener");
}

$("chat-form-link").addEventListener("click", (e) => {
  e.preventDefault();
  openForm();
});
$("chat-person").addEventListener("click", () => {
  if (state === "new") {
    // The first message starts the conversation: send what is typed, then ask for a
    // person; with nothing typed yet, say what to do.
    const text = input.value.trim();
    if (text) {
      personAfterStart = true;
      send(text);
      input.value = "";
    } else {
      setStatus(S.write_first);
    }
    input.focus();
    return;
  }
  act("person");
});
$("chat-member-go").addEventListener("click", () => {
  $("chat-category").hidden = true;
  sendFrame({ t: "person", member_category: $("chat-member").value });
});
$("chat-end").addEventListener("click", () => sendFrame({ t: "close" }));
$("chat-new").addEventListener("click", () => {
  storeToken(null);
  pending = [];
  savePending();
  for (const li of log.querySelectorAll("li[data-seq], li.pending")) li.remove();
  shown.clear();
  lastSeq = 0;
  state = "new";
  applyState({ state: "new" });
  setStatus("");
  live?.reconnect(); // a fresh hello, without the old token
});
$("chat-mail").addEventListener("submit", (e) => {
  e.preventDefault();
  const email = $("chat-mail-address").value.trim();
  if (!email) return;
  if (state === "new") return;
  sendFrame({ t: "mail", email, name: $("chat-mail-name").value.trim() });
});
$("chat-mail-cancel").addEventListener("click", () => {
  $("chat-mail").hidden = true;
});
$("chat-rate").addEventListener("submit", (e) => {
  e.preventDefault();
  const score = Number(new FormData(e.target).get("score"));
  if (!score) return;
  sendFrame({ t: "rate", score, comment: $("chat-rate-comment").value });
});
$("chat-compose").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  send(text);
  input.value = "";
  sendFrame({ t: "typing", on: false });
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("chat-compose").requestSubmit();
  } else if (e.key === "Escape" && embedded && parentOrigin) {
    window.parent.postMessage({ type: "madoguchi:close" }, parentOrigin);
  }
});
input.addEventListener("input", () => {
  if (state === "active") sendFrame({ t: "typing", on: input.value.length > 0 });
});
$("chat-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file || !token) return;
  if (file.size > Number(root.dataset.maxFile)) {
    setStatus(S.file_too_big);
    return;
  }
  const form = new FormData();
  form.append("file", file);
  form.append("cid", newId());
  const r = await fetch("/chat/upload/", { method: "POST", body: form, headers: { "X-Chat-Token": token } });
  if (!r.ok) {
    const data = await r.json().catch(() => ({}));
    setStatus(data.message || S.failed);
  }
});
$("chat-hide")?.addEventListener("click", () => {
  if (parentOrigin) window.parent.postMessage({ type: "madoguchi:close" }, parentOrigin);
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && embedded && parentOrigin && e.target !== input) {
    window.parent.postMessage({ type: "madoguchi:close" }, parentOrigin);
  }
});

for (const p of pending) drawPending(p);
applyState({ state: "new" });
start();
