// A WebSocket that reconnects with back-off and hands every event to `onEvent`.
export function connect(path, onEvent, { onOpen } = {}) {
  let delay = 500;
  let socket;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  function open() {
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = 500;
      document.documentElement.dataset.live = "on";
      onOpen?.();
    });
    socket.addEventListener("message", (e) => {
      try {
        onEvent(JSON.parse(e.data));
      } catch (err) {
        console.error(err);
      }
    });
    socket.addEventListener("close", (e) => {
      document.documentElement.dataset.live = "off";
      if (e.code === 4401 || e.code === 4403 || e.code === 4404) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }
  open();
  return {
    close: () => socket?.close(),
    send: (data) => socket?.readyState === WebSocket.OPEN && socket.send(JSON.stringify(data)),
  };
}

export async function refresh(url, target) {
  const response = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
  if (response.redirected || !response.ok) return false;
  target.innerHTML = await response.text();
  return true;
}
