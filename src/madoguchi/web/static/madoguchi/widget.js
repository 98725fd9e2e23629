/* madoguchi chat loader: <script src="https://DESK/widget.js" async></script>
   Settings (optional): data-lang="auto|ja|en" data-position="right|left" data-color="#0b5cad"
   data-title="..." data-label="..." on the tag, or before it window.madoguchiChat = {...}.
   The chat runs in a frame served by the desk; the loader keeps the conversation's key
   in a first-party cookie of this site so the chat continues across pages. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__madoguchiChat) return;
  window.__madoguchiChat = true;
  var desk = new URL(script.src).origin;
  // Settings: data-* attributes on the script tag, or window.madoguchiChat (wins).
  var data = {};
  ["lang", "position", "color", "title", "label"].forEach(function (k) {
    if (script.dataset[k]) data[k] = script.dataset[k];
  });
  var cfg = Object.assign({ lang: "auto", position: "right", color: "#0b5cad" }, data, window.madoguchiChat || {});
  var lang = cfg.lang === "ja" || cfg.lang === "en" ? cfg.lang
    : (navigator.language || "ja").toLowerCase().indexOf("ja") === 0 ? "ja" : "en";
  var color = /^#[0-9a-fA-F]{6}$/.test(cfg.color || "") ? cfg.color : "#0b5cad";
  var label = cfg.label || (lang === "ja" ? "ここからチャットで相談" : "Chat with us");
  var title = cfg.title || (lang === "ja" ? "サポート窓口チャット" : "Support desk chat");
  var COOKIE = "madoguchi_chat";

  function readKey() {
    var m = document.cookie.match(/(?:^|;\s*)madoguchi_chat=([A-Za-z0-9_-]{20,100})/);
    return m ? m[1] : null;
  }
  function writeKey(value) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = value
      ? COOKIE + "=" + value + "; Path=/; Max-Age=604800; SameSite=Lax" + secure
      : COOKIE + "=; Path=/; Max-Age=0; SameSite=Lax" + secure;
  }

  var host = document.createElement("div");
  host.setAttribute("data-madoguchi", "chat");
  var shadow = host.attachShadow({ mode: "open" });
  var side = cfg.position === "left" ? "left" : "right";
  var css =
    ":host{all:initial}" +
    ".launch{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;font:600 15px/1.2 system-ui,sans-serif;" +
    "color:#fff;background:" + color + ";border:0;border-radius:24px;padding:12px 18px;cursor:pointer;" +
    "box-shadow:0 2px 10px rgba(0,0,0,.3)}" +
    ".launch:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#ffbf47;margin-left:6px}" +
    ".panel{position:fixed;bottom:80px;" + side + ":20px;width:380px;height:min(620px,calc(100vh - 100px));" +
    "z-index:2147483000;border-radius:12px;overflow:hidden;box-shadow:0 4px 24px rgba(0,0,0,.35);background:#fff}" +
    ".panel[hidden]{display:none}iframe{border:0;width:100%;height:100%}" +
    "@media (max-width:600px){.panel{inset:0;width:100%;height:100%;border-radius:0;bottom:0}}";
  try {
    // A constructed style sheet is not inline style: it works under a strict host CSP.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = document.createElement("style");
    style.textContent = css;
    shadow.appendChild(style);
  }

  var button = document.createElement("button");
  button.type = "button";
  button.className = "launch";
  button.textContent = label;
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  var dot = document.createElement("span");
  dot.className = "dot";
  dot.hidden = true;
  dot.setAttribute("aria-hidden", "true");
  button.appendChild(dot);

  var panel = document.createElement("div");
  panel.className = "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var frame = null;

  function load() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = title;
      frame.allow = "clipboard-write";
      frame.src = desk + "/chat/embed/?lang=" + lang + "&color=" + encodeURIComponent(color) +
        "&title=" + encodeURIComponent(title);
      panel.appendChild(frame);
    }
  }
  function open() {
    load();
    panel.hidden = false;
    dot.hidden = true;
    button.setAttribute("aria-expanded", "true");
    frame.focus();
    frame.contentWindow && frame.contentWindow.postMessage({ type: "madoguchi:focus" }, desk);
  }
  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }
  button.addEventListener("click", function () {
    panel.hidden ? open() : close();
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") close();
  });

  window.addEventListener("message", function (e) {
    if (e.origin !== desk || !frame || e.source !== frame.contentWindow) return;
    var data = e.data || {};
    if (data.type === "madoguchi:ready") {
      frame.contentWindow.postMessage({ type: "madoguchi:init", token: readKey(), page: location.href }, desk);
      if (!panel.hidden) frame.contentWindow.postMessage({ type: "madoguchi:focus" }, desk);
    } else if (data.type === "madoguchi:token") {
      writeKey(typeof data.token === "string" && /^[A-Za-z0-9_-]{20,100}$/.test(data.token) ? data.token : null);
    } else if (data.type === "madoguchi:close") {
      close();
    } else if (data.type === "madoguchi:activity" && panel.hidden) {
      dot.hidden = false;
    }
  });

  shadow.appendChild(button);
  shadow.appendChild(panel);
  (document.body || document.documentElement).appendChild(host);
  if (readKey()) load(); // a running chat continues on this page (closed until asked)
})();
