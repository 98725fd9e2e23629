// A WebSocket that reconnects with back-off (at once when the browser is back online) and
// hands every event to `onEvent`. `onOpen` runs on every (re)connection (a page says hello
// there), `onClose` on every loss. Closed for good only by `close()` or a refusal code.
export function connect(path, onEvent, { onOpen, onClose, maxDelay = 15000 } = {}) {
  let delay = 500;
  let socket = null;
  let timer = null;
  let stopped = false;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  function open() {
    clearTimeout(timer);
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 500;
      document.documentElement.dataset.live = "on";
      onOpen?.();
    });
    socket.addEventListener("message", (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      try {
        onEvent(data);
      } catch (err) {
        console.error(err);
      }
    });
    socket.addEventListener("close", (e) => {
      document.documentElement.dataset.live = "off";
      onClose?.(e);
      if (stopped || e.code === 4401 || e.code === 4403 || e.code === 4404) return;
      if (!navigator.onLine) return; // the "online" event reconnects
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
  }
  // The network is gone: drop the socket now rather than wait for a timeout (what a page
  // holds back meanwhile is sent on reconnect); back: reconnect at once.
  window.addEventListener("offline", () => {
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  });
  window.addEventListener("online", () => {
    clearTimeout(timer);
    delay = 500;
    if (!stopped && (!socket || socket.readyState === WebSocket.CLOSED)) open();
  });
  open();
  return {
    close: () => {
      stopped = true;
      socket?.close();
    },
    reconnect: () => socket?.close(), // a fresh connection (and hello) at once
    send: (data) => {
      if (socket?.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(data));
      return true;
    },
  };
}

export async function refresh(url, target) {
  const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
  if (response.redirected || !response.ok) return false;
  target.innerHTML = await response.text();
  return true;
}
