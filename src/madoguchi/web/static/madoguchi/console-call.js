// The operator's call page (/console/calls/<ref>/): voice both ways, the requester's shared
// window, the call's actions and a screenshot taken only with the requester's consent.
//
// The requester's page makes the offers; this page answers them (a repeated offer gets the
// same answer again). /ws/call/op/ carries the signalling and the call's state; the
// actions are POSTs to the console's call routes; the call's text chat is the inquiry's
// thread, which console.js keeps live on this page.
import { countdown, fingerprint, muteButton, sound, typingSignals } from "./callkit.js";
import { connect } from "./socket.js";

const root = document.getElementById("console");
const S = JSON.parse(document.getElementById("call-strings").textContent);
const $ = (id) => document.getElementById(id);
const reference = root.dataset.reference;
const csrf = root.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";

let state = root.dataset.state || "";
let iceServers = [];
let icePolicy = "all"; // "relay": through TURN only, no addresses shared
let pc = null;
let remotePrint = "";
let answeredOffer = "";
let early = [];
let signals = Promise.resolve();
let mic = null;
let micAsked = null;

function getMic() {
  // Asked once the call is live; the answer does not wait for it (the microphone joins
  // the audio sender when it is allowed, without a new offer).
  if (!micAsked) {
    micAsked = (async () => {
      if (!navigator.mediaDevices?.getUserMedia) return null;
      try {
        mic = await navigator.mediaDevices.getUserMedia({ audio: true });
        for (const t of mic.getAudioTracks()) t.enabled = !mute.muted;
        await useMic();
      } catch {
        mic = null;
        say(S.mic_denied);
      }
      return mic;
    })();
  }
  return micAsked;
}

async function useMic() {
  const track = mic?.getAudioTracks()[0] || null;
  if (!pc) return;
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track.kind === "audio" && t.direction === "sendrecv" && t.sender.track !== track) {
      await t.sender.replaceTrack(track);
    }
  }
}

function format(text, values) {
  return String(text).replace(/%\((\w+)\)s/g, (_, k) => String(values[k] ?? ""));
}

function say(text) {
  const status = $("call-state");
  if (status.textContent === text) status.textContent = "";
  status.textContent = text || "";
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function post(url, data) {
  data.set("csrfmiddlewaretoken", csrf);
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrf },
    });
  } catch {
    return { ok: false, message: S.offline };
  }
  const result = await response.json().catch(() => ({}));
  return response.ok && result.ok ? result : { ok: false, message: result.message || S.failed };
}

// --- the call's socket ----------------------------------------------------------------------

const live = connect("/ws/call/op/", handle, { onOpen: () => live.send({ t: "join", inquiry: reference, fresh: !pc }) });
setInterval(() => live.send({ t: "ping" }), 25000);

function handle(data) {
  switch (data.t) {
    case "joined":
    case "state":
      apply(data);
      break;
    case "signal":
      signals = signals.then(() => onSignal(data.signal)).catch((err) => console.error(err));
      break;
    case "screenshot":
      screenshot(data);
      break;
    case "typing":
      showTyping(Boolean(data.on) && state === "active");
      break;
    case "warning":
      say(format(S.warning, { minutes: data.minutes }));
      clock.warned(data.minutes);
      break;
    case "error":
      if (data.code !== "not_live" && data.code !== "rate") $("call-action-error").textContent = data.message || "";
      break;
    default:
      break; // the call's messages reach this page as thread entries (console.js)
  }
}

function apply(data) {
  const before = state;
  state = data.state;
  root.dataset.state = state;
  if (Array.isArray(data.ice)) iceServers = data.ice;
  if (data.ice_policy === "relay" || data.ice_policy === "all") icePolicy = data.ice_policy;
  const running = state === "active" || state === "waiting";
  const ended = state === "ended" || state === "email";
  let text = S.waiting;
  if (state === "active") text = format(S.active, { name: data.requester || "" });
  else if (state === "email") text = S.by_mail;
  else if (ended) text = data.ended_by === "time_limit" ? S.time_up : S.ended;
  if (before !== state || !$("call-state").textContent.trim() || state !== "active") say(text);
  $("share-state").textContent = S[`share_${data.share}`] || S.share_none;
  for (const form of root.querySelectorAll(".call-actions form")) {
    const action = form.dataset.action;
    let enabled = running;
    if (action === "share") enabled = state === "active" && data.share !== "live" && data.share !== "paused";
    if (action === "screenshot") enabled = state === "active" && data.share === "live";
    form.querySelector("button").disabled = !enabled;
  }
  $("call-after").hidden = state !== "email";
  if (state === "active") {
    setTimer(data.seconds_left);
    getMic();
  }
  if (ended) {
    setTimer(null);
    closePeer();
    if (mic) for (const t of mic.getTracks()) t.stop();
    mic = null;
    micAsked = null;
    $("call-composer").querySelector("button").disabled = true;
  }
}

// --- answering the requester's offers -------------------------------------------------------

function withoutCandidates(sdp) {
  return (sdp || "")
    .split(/\r?\n/)
    .filter((l) => !l.startsWith("a=candidate:") && !l.startsWith("a=end-of-candidates"))
    .join("\n");
}

function newPeer() {
  closePeer();
  pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: icePolicy });
  const peer = pc;
  remotePrint = "";
  answeredOffer = "";
  early = [];
  pc.addEventListener("icecandidate", (e) => {
    if (e.candidate && e.candidate.candidate) live.send({ t: "signal", signal: { candidate: e.candidate.toJSON() } });
  });
  pc.addEventListener("track", (e) => {
    const stream = new MediaStream([e.track]);
    if (e.track.kind === "audio") {
      $("call-audio").srcObject = stream;
      play();
    } else {
      const video = $("call-video");
      video.srcObject = stream;
      video.play().catch(() => {});
    }
  });
  pc.addEventListener("connectionstatechange", () => {
    if (peer !== pc) return;
    const before = root.dataset.media;
    root.dataset.media = pc.connectionState;
    if (pc.connectionState === "connected" && before !== "connected") say(S.media_connected);
    if (pc.connectionState === "failed") say(S.media_lost); // the requester's page restarts ICE
  });
}

function closePeer() {
  if (pc) pc.close();
  pc = null;
  root.dataset.media = "";
}

async function onSignal(signal) {
  if (!signal) return;
  if (signal.type === "offer") {
    const print = fingerprint(signal.sdp);
    // A different certificate: the requester's page was reloaded, a new peer.
    if (!pc || (remotePrint && print && print !== remotePrint)) newPeer();
    const peer = pc;
    const same = withoutCandidates(signal.sdp);
    if (peer.signalingState === "stable" && same === answeredOffer && peer.localDescription) {
      live.send({ t: "signal", signal: { type: "answer", sdp: peer.localDescription.sdp } });
      return; // an offer sent again: the same answer again
    }
    if (peer.signalingState !== "stable") return;
    await peer.setRemoteDescription({ type: "offer", sdp: signal.sdp });
    remotePrint = print;
    answeredOffer = same;
    // Audio both ways: the microphone goes on the requester's audio line.
    for (const t of peer.getTransceivers()) {
      if (t.receiver.track.kind === "audio" && t.direction !== "stopped") t.direction = "sendrecv";
    }
    await useMic();
    if (peer !== pc) return;
    const answer = await peer.createAnswer();
    await peer.setLocalDescription(answer);
    live.send({ t: "signal", signal: { type: "answer", sdp: peer.localDescription.sdp } });
    const waiting = early;
    early = [];
    for (const c of waiting) await peer.addIceCandidate(c).catch(() => {});
  } else if (signal.candidate) {
    if (!pc || !pc.remoteDescription) {
      early.push(signal.candidate);
      return;
    }
    await pc.addIceCandidate(signal.candidate).catch(() => {});
  }
}

const play = sound($("call-audio"), $("call-sound"));
const mute = muteButton($("call-mute"), S, () => mic?.getAudioTracks() || []);

// --- the time limit ------------------------------------------------------------------------

const clock = countdown($("call-timer"));
const setTimer = (seconds) => clock.set(seconds);

// --- the actions ---------------------------------------------------------------------------

for (const form of root.querySelectorAll(".call-actions form")) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    $("call-action-error").textContent = "";
    const button = form.querySelector("button");
    button.disabled = true;
    const result = await post(form.action, new FormData(form));
    button.disabled = false;
    if (!result.ok) {
      $("call-action-error").textContent = result.message;
      return;
    }
    if (form.dataset.action === "screenshot") shotStatus(S.shot_waiting);
    // Passed on: this page is no longer the call's; the inquiry's page is where to be.
    if (form.dataset.action === "transfer") location.assign(root.dataset.detailUrl);
  });
}

// An internal note on the inquiry, without leaving the call (it appears in the thread).
const noteForm = $("call-note-form");
noteForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const note = $("call-note");
  if (!note.value.trim()) return;
  const result = await post(noteForm.action, new FormData(noteForm));
  $("call-note-status").textContent = result.ok ? S.note_added : result.message;
  if (result.ok) note.value = "";
});

// --- a screenshot, with the requester's consent --------------------------------------------

function shotStatus(text, nodes = []) {
  const box = $("call-shot");
  const p = document.createElement("p");
  p.textContent = text;
  box.replaceChildren(p, ...nodes);
}

async function screenshot(data) {
  if (!data.allowed || !data.token) {
    shotStatus(S.shot_denied);
    return;
  }
  const video = $("call-video");
  if (!video.videoWidth) {
    shotStatus(S.shot_failed);
    return;
  }
  shotStatus(S.shot_saving);
  // The current frame of the shared window, as the operator sees it.
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!blob) {
    shotStatus(S.shot_failed);
    return;
  }
  const form = new FormData();
  form.append("image", blob, "screenshot.png");
  form.append("token", data.token);
  const result = await post(root.dataset.screenshotUrl, form);
  if (!result.ok) {
    shotStatus(result.message || S.shot_failed);
    return;
  }
  const url = root.dataset.filesUrl.replace(/\/0\/$/, `/${encodeURIComponent(result.attachment)}/`);
  const link = document.createElement("a");
  link.href = url;
  link.textContent = S.shot_open;
  const holder = document.createElement("p");
  holder.append(link);
  shotStatus(S.shot_stored, [holder]);
  // Shown from the stored file (the desk's copy, through its access check). The file
  // route sends it as a download, so it is read here and shown as a data: URL.
  const stored = await fetch(url, { credentials: "same-origin" });
  if (!stored.ok) return;
  const reader = new FileReader();
  reader.addEventListener("load", () => {
    if (typeof reader.result !== "string") return;
    const img = document.createElement("img");
    img.alt = S.shot_alt;
    img.src = reader.result.replace(/^data:[^;,]*/, "data:image/png");
    img.dataset.attachment = String(result.attachment);
    holder.after(img);
  });
  reader.readAsDataURL(await stored.blob());
}

// --- the text chat -------------------------------------------------------------------------

const composer = $("call-composer");
const body = $("call-body");
let cid = newId(); // one id per line: a retry is the same line

composer.addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = body.value.trim();
  if (!text) return;
  const data = new FormData(composer);
  data.set("cid", cid);
  $("call-body-error").textContent = "";
  const result = await post(composer.action, data);
  if (!result.ok) {
    $("call-body-error").textContent = result.message;
    return;
  }
  cid = newId();
  body.value = "";
  body.focus();
  typing(false);
});

const typingKit = typingSignals($("call-typing"), (frame) => live.send(frame), () => state === "active");
const showTyping = typingKit.note;
const typing = typingKit.mine;
body.addEventListener("input", () => typing(body.value.length > 0));

body.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composer.requestSubmit();
  }
});

// Keep the newest entries of the thread in view.
const thread = $("thread");
new MutationObserver(() => {
  thread.scrollTop = thread.scrollHeight;
}).observe(thread, { childList: true, subtree: true });
thread.scrollTop = thread.scrollHeight;
