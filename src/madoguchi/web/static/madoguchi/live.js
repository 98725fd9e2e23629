// The requester's page reloads its thread when the desk answers.
import { connect } from "./socket.js";

const root = document.getElementById("requester-thread");
if (root) {
  connect(root.dataset.ws, (event) => {
    if (event.kind === "link.revoked") {
      location.reload(); // the link no longer works: the page says so
    } else if (event.kind === "message.created") {
      const typing = root.querySelector("textarea")?.value;
      if (!typing) location.reload();
    }
  });
}
