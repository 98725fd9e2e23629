// What both ends of an online call share (call.js for the requester, console-call.js for
// the operator): the DTLS fingerprint of an SDP, the sound with its one-click fallback,
// the mute button and the countdown to the time limit.

// A page that was reloaded has a new certificate: its fingerprint tells a new peer.
export function fingerprint(sdp) {
  const m = /^a=fingerprint:(.+)$/m.exec(sdp || "");
  return m ? m[1].trim() : "";
}

// Play the other side's sound; when the browser refuses autoplay, `button` shows and one
// click turns the sound on. Returns the function that (re)starts playing.
export function sound(audio, button) {
  const play = () =>
    audio.play().then(
      () => {
        button.hidden = true;
      },
      () => {
        button.hidden = false;
      },
    );
  button.addEventListener("click", play);
  return play;
}

// The mute toggle: `tracks()` gives the microphone's tracks now (none before it is
// allowed); a microphone allowed later asks `muted` for its first state.
export function muteButton(button, strings, tracks) {
  const toggle = { muted: false };
  button.addEventListener("click", () => {
    toggle.muted = !toggle.muted;
    for (const t of tracks()) t.enabled = !toggle.muted;
    button.setAttribute("aria-pressed", toggle.muted ? "true" : "false");
    button.textContent = toggle.muted ? strings.unmute : strings.mute;
  });
  return toggle;
}

// The time left, as m:ss in `output`; `set(null)` shows none. The desk's clock decides:
// `warned(minutes)` moves a countdown that shows more time than the desk's warning.
export function countdown(output) {
  let deadline = 0;
  let timer = null;
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    output.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  };
  return {
    set(seconds) {
      clearInterval(timer);
      if (typeof seconds !== "number") {
        deadline = 0;
        output.textContent = "--:--";
        return;
      }
      deadline = Date.now() + seconds * 1000;
      tick();
      timer = setInterval(tick, 1000);
    },
    warned(minutes) {
      if (deadline && deadline - Date.now() > minutes * 60000) {
        deadline = Date.now() + minutes * 60000;
        tick();
      }
    },
  };
}

// "… is typing": `note(on)` shows the other side's note, which goes by itself when no new
// "on" comes (one comes every 2 s while they type); `mine(on)` sends ours through `send`
// while `live()` holds, "on" at most every 2 s and "off" once — a frame per keystroke
// would eat the socket's rate limit that the messages need.
export function typingSignals(element, send, live) {
  let hide = null;
  const note = (on) => {
    clearTimeout(hide);
    element.hidden = !on;
    if (on) hide = setTimeout(() => note(false), 6000);
  };
  let sentAt = 0; // when "on" was last sent (0: "off" was)
  const mine = (on) => {
    const t = Date.now();
    if (on ? t - sentAt < 2000 : sentAt === 0) return;
    sentAt = on ? t : 0;
    if (live()) send({ t: "typing", on });
  };
  return { note, mine };
}
