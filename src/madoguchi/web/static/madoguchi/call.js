// The requester's online call (/call/): the terms, the waiting room, then the call itself
// (voice, a text chat beside it, one shared window, screenshots only with permission),
// over /ws/call/.
//
// Sound and video go browser to browser (WebRTC); the desk relays the signalling only,
// and only while the call is active. This page makes every offer (the first one, a new
// one when a window is shared, an ICE restart); the operator's page answers. An offer is
// sent again every two seconds until it is answered, so an operator page that joins late
// (or reloads) still gets it; the operator's page answers a repeated offer with the same
// answer. Everything the page says comes from the page's strings (ja or en), and every
// message is rendered as text, never HTML.
import { countdown, fingerprint, muteButton, sound, typingSignals } from "./callkit.js";
import { connect } from "./socket.js";

const root = document.getElementById("call");
const S = JSON.parse(document.getElementById("call-strings").textContent);
const TOKEN_KEY = "madoguchi_call";
const $ = (id) => document.getElementById(id);
const lang = root.dataset.lang === "en" ? "en" : "ja";
const termsVersion = Number(root.dataset.terms);

let live = null;
let connected = false; // the desk has welcomed this page on the current socket
let token = loadToken();
let state = "new";
let topic = "";
let mailSent = false;

function format(text, values) {
  return String(text).replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(value) {
  token = value;
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: the call lasts as long as the page */
  }
}

// --- what the page says --------------------------------------------------------------------

function announce(text) {
  // The polite live region: the same text twice is announced twice.
  const status = $("call-status");
  if (status.textContent === text) status.textContent = "";
  status.textContent = text || "";
}

function alertText(text, link) {
  const box = $("call-alert");
  box.replaceChildren();
  if (!text) return;
  const p = document.createElement("p");
  p.textContent = text;
  if (link) {
    const a = document.createElement("a");
    a.href = link.href;
    a.textContent = link.text;
    if (link.newTab) {
      a.target = "_blank";
      a.rel = "noopener";
    }
    p.append(" ", a);
  }
  box.append(p);
}

function fieldError(input, errorId, text) {
  $(errorId).textContent = text || "";
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function formLink() {
  // The email form, pre-filled with the topic (the form takes ?subject= and ?body=).
  const url = new URL(root.dataset.formUrl, location.origin);
  url.searchParams.set("lang", lang);
  if (topic) {
    url.searchParams.set("subject", topic.slice(0, 200));
    url.searchParams.set("body", topic);
  }
  return url;
}

// --- the connection ------------------------------------------------------------------------

function send(data) {
  return connected && live !== null && live.send(data);
}

setInterval(() => send({ t: "ping" }), 25000);

function handle(data) {
  switch (data.t) {
    case "welcome":
      connected = true;
      root.dataset.connected = "1";
      if (data.state === "new" && token) storeToken(null); // an unknown or expired call
      apply(data);
      for (const m of Array.isArray(data.messages) ? data.messages : []) render(m);
      flush();
      break;
    case "token":
      storeToken(data.token);
      break;
    case "state":
      apply(data);
      break;
    case "signal":
      signalled(data.signal);
      break;
    case "message":
      render(data.message);
      if (data.message.kind === "reply") showTyping(false);
      break;
    case "typing":
      showTyping(Boolean(data.on) && state === "active");
      break;
    case "ack":
      acknowledge(data.cid, data.seq);
      break;
    case "peer_ready":
      peerReady();
      break;
    case "screenshot_asked":
      askShot(data.request);
      break;
    case "warning":
      warned(data.minutes);
      break;
    case "mail_ok":
      mailSent = true;
      $("call-mail").hidden = true;
      announce(S.mail_sent);
      break;
    case "error":
      failed(data);
      break;
    default:
      break;
  }
}

// --- state ---------------------------------------------------------------------------------

function apply(data) {
  const before = state;
  state = data.state;
  root.dataset.state = state;
  const ended = state === "ended" || state === "email";
  $("call-setup").hidden = state !== "new";
  $("call-waiting").hidden = state !== "waiting";
  $("call-live").hidden = state !== "active";
  $("call-chat").hidden = !(state === "waiting" || state === "active");
  $("call-ended").hidden = !ended;
  $("call-mail").hidden = state !== "email" || mailSent || Boolean(data.email_on_file);
  if (Array.isArray(data.ice)) iceServers = data.ice;
  if (data.ice_policy === "relay" || data.ice_policy === "all") icePolicy = data.ice_policy;
  if (state !== "new") alertText("");
  if (state === "waiting") {
    const text = data.position ? format(S.waiting, { position: data.position, minutes: data.wait_minutes }) : S.invited;
    if ($("call-place").textContent !== text || before !== "waiting") announce(text); // moves only
    $("call-place").textContent = text;
    if (before !== "waiting") $("waiting-h").focus();
    getMic();
  } else if (state === "active") {
    $("call-with").textContent = format(S.active, { name: data.operator || S.staff });
    if (before !== "active") {
      announce(format(S.active, { name: data.operator || S.staff }));
      $("live-h").focus();
    }
    setTimer(data.seconds_left);
    getMic();
    startMedia();
    applyShare(data.share);
    if (data.screenshot_request) askShot(data.screenshot_request);
  } else if (ended) {
    stopMedia();
    setTimer(null);
    const byMail = data.email_on_file ? S.by_mail_known : S.by_mail;
    const text = state === "email" ? byMail : data.ended_by === "time_limit" ? S.time_up : S.ended;
    $("ended-text").textContent = text;
    $("ended-form").href = formLink().href;
    if (before !== state) {
      announce(text);
      $("ended-text").focus();
    }
  } else if (state === "new" && before !== "new") {
    reset();
  }
}

function reset() {
  stopMedia();
  setTimer(null);
  pending = [];
  shown.clear();
  $("call-list").replaceChildren();
  mailSent = false;
  $("call-start")?.reset(); // absent where the desk asks to sign in first
  $("call-accept").checked = false;
}

// --- starting a call -----------------------------------------------------------------------

function termsAccepted() {
  const box = $("call-accept");
  if (box.checked) {
    fieldError(box, "call-accept-error", "");
    return true;
  }
  fieldError(box, "call-accept-error", S.terms_needed);
  box.focus();
  return false;
}

$("call-accept").addEventListener("change", (e) => {
  if (e.target.checked) fieldError(e.target, "call-accept-error", "");
});

$("call-start")?.addEventListener("submit", (e) => {
  e.preventDefault();
  alertText("");
  const input = $("call-topic");
  const text = input.value.trim();
  if (!termsAccepted()) return;
  if (!text) {
    fieldError(input, "call-topic-error", S.topic_needed);
    input.focus();
    return;
  }
  fieldError(input, "call-topic-error", "");
  topic = text;
  const category = $("call-category");
  if (category && !category.value) {
    fieldError(category, "call-category-error", S.category_needed);
    category.focus();
    return;
  }
  if (category) fieldError(category, "call-category-error", "");
  const frame = { t: "start", topic: text, terms: termsVersion };
  if (category) frame.category = category.value;
  if (!send(frame)) announce(S.connecting);
});

$("call-code").addEventListener("submit", (e) => {
  e.preventDefault();
  alertText("");
  const input = $("code-input");
  if (!termsAccepted()) return;
  if (!input.value.trim()) {
    alertText(S.code_needed);
    input.focus();
    return;
  }
  if (!send({ t: "code", code: input.value, terms: termsVersion })) announce(S.connecting);
});

$("call-leave").addEventListener("click", () => send({ t: "leave" }));
$("call-hangup").addEventListener("click", () => send({ t: "leave" }));
$("call-new").addEventListener("click", () => {
  storeToken(null);
  apply({ state: "new" });
  announce("");
  $("call-accept").focus();
});

$("call-mail").addEventListener("submit", (e) => {
  e.preventDefault();
  const address = $("call-mail-address");
  if (!address.value.trim()) {
    fieldError(address, "call-mail-error", S.mail_needed);
    address.focus();
    return;
  }
  fieldError(address, "call-mail-error", "");
  send({ t: "mail", email: address.value.trim(), name: $("call-mail-name").value.trim() });
});

function failed(data) {
  if (data.cid) {
    lineFailed(data);
    return;
  }
  const code = data.code;
  // Signalling that arrives as a call ends, and the rate limit's pushback: nothing to say.
  if (code === "not_live" || code === "no_call" || code === "rate") return;
  if (state === "email" && !$("call-mail").hidden) {
    fieldError($("call-mail-address"), "call-mail-error", data.message || S.failed);
    return;
  }
  if (code === "signin") {
    alertText(data.message, { href: root.dataset.signinUrl, text: S.signin });
  } else if (code === "exam" || code === "closed_hours" || code === "busy" || code === "not_entitled") {
    const url = formLink();
    if (code === "exam") url.searchParams.set("category", "exam");
    alertText(data.message, { href: url.href, text: S.form });
  } else if (code === "terms") {
    alertText(data.message, { href: location.pathname + location.search, text: S.reload });
  } else {
    alertText(data.message || S.failed);
  }
  if (code === "code" || code === "locked") $("code-input").focus();
}

// --- the microphone and the peer connection ------------------------------------------------

let iceServers = [];
let icePolicy = "all"; // "relay": through TURN only, no addresses shared
let mic = null;
let micAsked = null;
let pc = null;
let audioSender = null;
let offerTimer = null;
let restarting = false;
let remotePrint = "";
let early = []; // ICE candidates that came before the answer
let signals = Promise.resolve();
let mediaTimers = {};

function getMic() {
  // Asked once the requester is in the waiting room, under the page's explanation.
  if (!micAsked) {
    micAsked = (async () => {
      if (!navigator.mediaDevices?.getUserMedia) {
        announce(S.mic_denied);
        return null;
      }
      try {
        mic = await navigator.mediaDevices.getUserMedia({ audio: true });
        for (const t of mic.getAudioTracks()) t.enabled = !mute.muted;
        if (audioSender) await audioSender.replaceTrack(mic.getAudioTracks()[0] || null);
      } catch {
        mic = null;
        announce(S.mic_denied);
      }
      return mic;
    })();
  }
  return micAsked;
}

function startMedia() {
  if (!pc) newPeer();
}

function newPeer() {
  closePeer();
  pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: icePolicy });
  const peer = pc;
  remotePrint = "";
  early = [];
  // Audio both ways from the start: the microphone joins the sender when it is allowed,
  // without a new offer.
  const audio = pc.addTransceiver("audio", { direction: "sendrecv" });
  audioSender = audio.sender;
  if (mic) audioSender.replaceTrack(mic.getAudioTracks()[0] || null);
  if (share.track) {
    share.sender = pc.addTrack(share.track, share.stream);
    if (share.paused) share.sender.replaceTrack(null);
  } else {
    share.sender = null;
  }
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate && e.candidate.candidate) send({ t: "signal", signal: { candidate: e.candidate.toJSON() } });
  });
  pc.addEventListener("track", (e) => {
    if (e.track.kind !== "audio") return;
    const player = $("call-audio");
    player.srcObject = e.streams[0] || new MediaStream([e.track]);
    play();
  });
  pc.addEventListener("negotiationneeded", () => {
    if (peer === pc) makeOffer();
  });
  pc.addEventListener("iceconnectionstatechange", () => {
    if (peer !== pc) return;
    const s = pc.iceConnectionState;
    clearTimeout(mediaTimers.disconnected);
    if (s === "failed") {
      restartIce();
    } else if (s === "disconnected") {
      // Usually back within seconds; if not, the same as failed.
      mediaTimers.disconnected = setTimeout(() => {
        if (peer === pc && pc.iceConnectionState === "disconnected") restartIce();
      }, 5000);
    } else if (s === "connected" || s === "completed") {
      clearTimeout(mediaTimers.rebuild);
    }
  });
  pc.addEventListener("connectionstatechange", () => {
    if (peer !== pc) return;
    const before = root.dataset.media;
    root.dataset.media = pc.connectionState;
    if (pc.connectionState === "connected" && before !== "connected") announce(S.media_connected);
  });
}

function closePeer() {
  clearInterval(offerTimer);
  clearTimeout(mediaTimers.disconnected);
  clearTimeout(mediaTimers.rebuild);
  if (pc) pc.close();
  pc = null;
  audioSender = null;
  root.dataset.media = "";
}

async function makeOffer() {
  const peer = pc;
  if (!peer || peer.signalingState !== "stable") return; // fired again once stable
  try {
    const offer = await peer.createOffer();
    if (peer !== pc || peer.signalingState !== "stable") return;
    await peer.setLocalDescription(offer);
  } catch (err) {
    console.error(err);
    return;
  }
  const restart = restarting;
  clearInterval(offerTimer);
  const push = () => {
    if (peer !== pc || peer.signalingState !== "have-local-offer") {
      clearInterval(offerTimer);
      return;
    }
    // The current description carries the candidates gathered so far.
    send({ t: "signal", signal: { type: "offer", sdp: peer.localDescription.sdp, restart } });
  };
  push();
  offerTimer = setInterval(push, 2000);
}

function peerReady() {
  // The operator's page is new (opened or reloaded): an offer not answered yet goes to it
  // now; a connection made with an earlier page starts again at once, not after the
  // ICE timeouts.
  if (state !== "active") return;
  root.dataset.operatorPages = String(Number(root.dataset.operatorPages || 0) + 1);
  if (!pc) {
    startMedia();
  } else if (pc.signalingState === "have-local-offer" && !pc.remoteDescription) {
    send({ t: "signal", signal: { type: "offer", sdp: pc.localDescription.sdp, restart: restarting } });
  } else {
    newPeer();
  }
}

function restartIce() {
  if (state !== "active" || !pc) return;
  announce(S.media_lost);
  restarting = true;
  pc.restartIce(); // the next offer restarts ICE (negotiationneeded)
  clearTimeout(mediaTimers.rebuild);
  mediaTimers.rebuild = setTimeout(() => {
    // Still not back (the operator's page was reloaded, say): a new connection.
    if (pc && state === "active" && !["connected", "completed"].includes(pc.iceConnectionState)) newPeer();
  }, 15000);
}

function signalled(signal) {
  signals = signals.then(() => onSignal(signal)).catch((err) => console.error(err));
}

async function onSignal(signal) {
  const peer = pc;
  if (!peer || !signal) return;
  if (signal.type === "answer") {
    if (peer.signalingState !== "have-local-offer") return; // an answer repeated
    const print = fingerprint(signal.sdp);
    if (remotePrint && print && print !== remotePrint) {
      newPeer(); // the operator's page is a new one: start again
      return;
    }
    try {
      await peer.setRemoteDescription({ type: "answer", sdp: signal.sdp });
    } catch (err) {
      console.error(err);
      newPeer();
      return;
    }
    clearInterval(offerTimer);
    remotePrint = print;
    restarting = false;
    const waiting = early;
    early = [];
    for (const c of waiting) await peer.addIceCandidate(c).catch(() => {});
  } else if (signal.candidate) {
    if (!peer.remoteDescription || peer.signalingState === "have-local-offer") {
      early.push(signal.candidate);
      return;
    }
    await peer.addIceCandidate(signal.candidate).catch(() => {});
  }
}

function stopMedia() {
  closePeer();
  stopShare(false);
  if (mic) for (const t of mic.getTracks()) t.stop();
  mic = null;
  micAsked = null;
  $("call-audio").srcObject = null;
  $("call-shot").hidden = true;
  clearInterval(shotTimer);
}

const play = sound($("call-audio"), $("call-sound"));
const mute = muteButton($("call-mute"), S, () => mic?.getAudioTracks() || []);

// --- the time limit ------------------------------------------------------------------------

const clock = countdown($("call-timer"));
const setTimer = (seconds) => clock.set(seconds);

function warned(minutes) {
  announce(format(S.warning, { minutes }));
  clock.warned(minutes);
}

// --- sharing one window --------------------------------------------------------------------

const share = { track: null, stream: null, sender: null, paused: false };
let shareAsked = false;
const canShare = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);

function applyShare(value) {
  shareAsked = value === "asked";
  if (!share.track && (value === "live" || value === "paused")) {
    send({ t: "share", state: "stopped" }); // a reloaded page shares nothing any more
  }
  drawShare();
}

function drawShare() {
  const sharing = Boolean(share.track);
  $("call-share").hidden = !sharing && !shareAsked;
  $("share-start").hidden = sharing || !canShare;
  $("share-pause").hidden = !sharing || share.paused;
  $("share-resume").hidden = !sharing || !share.paused;
  $("share-stop").hidden = !sharing;
  $("share-preview-box").hidden = !sharing;
  let note = "";
  if (sharing) note = share.paused ? S.share_paused : S.share_live;
  else if (shareAsked) note = canShare ? S.share_asked : S.share_unsupported;
  $("share-note").textContent = note;
}

$("share-start").addEventListener("click", async () => {
  if (!canShare) {
    announce(S.share_unsupported);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({
      video: { displaySurface: "window" },
      audio: false,
      monitorTypeSurfaces: "exclude",
      selfBrowserSurface: "exclude",
      surfaceSwitching: "exclude",
    });
  } catch {
    return; // cancelled in the browser's picker
  }
  const track = stream.getVideoTracks()[0];
  if (!track || track.getSettings().displaySurface !== "window") {
    // A whole screen or a tab: stopped at once, nothing sent.
    for (const t of stream.getTracks()) t.stop();
    announce(S.share_refused);
    $("share-note").textContent = S.share_refused;
    return;
  }
  if (state !== "active" || !pc) {
    track.stop();
    return;
  }
  share.track = track;
  share.stream = stream;
  share.paused = false;
  track.addEventListener("ended", () => stopShare(true));
  const preview = $("share-preview");
  preview.srcObject = stream;
  preview.play().catch(() => {});
  if (share.sender) await share.sender.replaceTrack(track);
  else share.sender = pc.addTrack(track, stream); // a new offer (negotiationneeded)
  send({ t: "share", state: "live", surface: "window" });
  drawShare();
  announce(S.share_live);
  $("share-pause").focus();
});

$("share-pause").addEventListener("click", async () => {
  if (!share.track) return;
  share.paused = true;
  if (share.sender) await share.sender.replaceTrack(null); // no frames at all
  send({ t: "share", state: "paused" });
  drawShare();
  announce(S.share_paused);
  $("share-resume").focus();
});

$("share-resume").addEventListener("click", async () => {
  if (!share.track) return;
  share.paused = false;
  if (share.sender) await share.sender.replaceTrack(share.track);
  send({ t: "share", state: "live", surface: share.track.getSettings().displaySurface });
  drawShare();
  announce(S.share_live);
  $("share-pause").focus();
});

$("share-stop").addEventListener("click", () => {
  stopShare(true);
  $("live-h").focus();
});

function stopShare(tell) {
  const had = Boolean(share.track);
  if (share.track) share.track.stop();
  if (share.sender && pc) share.sender.replaceTrack(null).catch(() => {});
  share.track = null;
  share.stream = null;
  share.paused = false;
  $("share-preview").srcObject = null;
  if (had && tell) send({ t: "share", state: "stopped" });
  shareAsked = false;
  drawShare();
}

// --- a screenshot, only when allowed -------------------------------------------------------

let shotRequest = null;
let shotTimer = null;

function askShot(request) {
  if (typeof request !== "number" || request === shotRequest) return;
  shotRequest = request;
  $("call-shot").hidden = false;
  drawShot();
  clearInterval(shotTimer);
  shotTimer = setInterval(drawShot, 500); // what would be stored, as it is now
  announce(S.shot_q);
  $("shot-q").focus();
}

function drawShot() {
  const video = $("share-preview");
  const canvas = $("shot-preview");
  if (!share.track || share.paused || !video.videoWidth) {
    canvas.hidden = true;
    return;
  }
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  canvas.hidden = false;
}

function answerShot(allow) {
  if (shotRequest === null) return;
  send({ t: "screenshot", request: shotRequest, allow });
  shotRequest = null;
  clearInterval(shotTimer);
  $("call-shot").hidden = true;
  announce("");
  $("live-h").focus();
}

$("shot-allow").addEventListener("click", () => answerShot(true));
$("shot-deny").addEventListener("click", () => answerShot(false));

// --- the text chat (as in the chat widget: an id per line, stored once) ---------------------

let pending = []; // [{cid, body}] not yet acknowledged
const shown = new Map(); // seq -> element
const list = $("call-list");

function flush() {
  for (const p of pending) if (!send({ t: "say", cid: p.cid, body: p.body })) return;
}

function line(kind, who, text) {
  const li = document.createElement("li");
  li.className = `call-msg ${kind}`;
  if (kind === "event") {
    li.textContent = text;
    return li;
  }
  const w = document.createElement("p");
  w.className = "who";
  w.textContent = who;
  const t = document.createElement("p");
  t.className = "text";
  t.textContent = text;
  li.append(w, t);
  return li;
}

function scroll() {
  const region = $("call-log");
  region.scrollTop = region.scrollHeight;
}

function render(m) {
  if (!m || typeof m.seq !== "number" || shown.has(m.seq)) return;
  if (m.cid && list.querySelector(`[data-cid="${CSS.escape(m.cid)}"]`)) {
    acknowledge(m.cid, m.seq);
    return;
  }
  const who = m.kind === "requester" ? S.you : m.author || S.staff;
  const li = line(m.kind === "event" ? "event" : m.kind === "requester" ? "requester" : "reply", who, m.body);
  li.dataset.seq = String(m.seq);
  shown.set(m.seq, li);
  const after = [...list.querySelectorAll("li[data-seq]")].find((x) => Number(x.dataset.seq) > m.seq);
  list.insertBefore(li, after || list.querySelector("li.pending") || null);
  scroll();
}

function acknowledge(cid, seq) {
  pending = pending.filter((p) => p.cid !== cid);
  const li = list.querySelector(`[data-cid="${CSS.escape(cid)}"]`);
  if (!li) return;
  if (shown.has(seq) && shown.get(seq) !== li) {
    li.remove();
    return;
  }
  li.classList.remove("pending", "failed");
  li.querySelector(".note")?.remove();
  li.dataset.seq = String(seq);
  shown.set(seq, li);
}

function lineFailed(data) {
  if (data.code === "rate" || data.code === "retry") {
    setTimeout(flush, data.code === "rate" ? 2000 : 1000); // still pending: stored once
    return;
  }
  pending = pending.filter((p) => p.cid !== data.cid);
  const li = list.querySelector(`[data-cid="${CSS.escape(data.cid)}"]`);
  if (!li) return;
  li.classList.remove("pending");
  li.classList.add("failed");
  const note = li.querySelector(".note") || li.appendChild(document.createElement("p"));
  note.className = "note";
  note.textContent = `${S.failed}: ${data.message || ""}`;
}

$("call-compose").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("call-input");
  const body = input.value.trim();
  if (!body) return;
  const item = { cid: newId(), body };
  pending.push(item);
  const li = line("requester", S.you, body);
  li.dataset.cid = item.cid;
  li.classList.add("pending");
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = S.sending;
  li.append(note);
  list.append(li);
  scroll();
  input.value = "";
  if (!send({ t: "say", cid: item.cid, body })) announce(S.offline);
  typing(false);
});

const typingKit = typingSignals($("call-typing"), send, () => state === "active");
const showTyping = typingKit.note;
const typing = typingKit.mine;
$("call-input").addEventListener("input", (e) => typing(e.target.value.length > 0));

$("call-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $("call-compose").requestSubmit();
  }
});

drawShare();
live = connect("/ws/call/", handle, {
  onOpen: () => live.send({ t: "hello", token, lang }),
  onClose: () => {
    const was = connected;
    connected = false;
    root.dataset.connected = "0";
    if (was && state !== "new") announce(S.offline);
  },
  maxDelay: 10000,
});
