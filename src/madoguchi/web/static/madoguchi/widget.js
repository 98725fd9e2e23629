/* madoguchi chat loader: <script src="https://DESK/widget.js" async></script>, settings in
   docs/chat.md (data-* on the tag, or window.madoguchiChat = {...} before it). The chat runs
   in a frame of the desk; its key is kept in a first-party cookie of this site. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__madoguchiChat) return;
  window.__madoguchiChat = true;
  var desk = new URL(script.src).origin;
  var data = {};
  ["lang", "position", "color", "title", "label", "call", "callLabel"].forEach(function (k) {
    if (script.dataset[k]) data[k] = script.dataset[k];
  });
  var cfg = Object.assign({ lang: "auto", position: "right", color: "#0b5cad" }, data, window.madoguchiChat || {});
  var lang = cfg.lang === "ja" || cfg.lang === "en" ? cfg.lang
    : (navigator.language || "ja").toLowerCase().indexOf("ja") === 0 ? "ja" : "en";
  var color = /^#[0-9a-fA-F]{6}$/.test(cfg.color || "") ? cfg.color : "#0b5cad";
  var ja = lang === "ja";
  var label = cfg.label || (ja ? "ここからチャットで相談" : "Chat with us");
  var title = cfg.title || (ja ? "サポート窓口チャット" : "Support desk chat");
  var COOKIE = "madoguchi_chat";

  function readKey() {
    var m = document.cookie.match(/(?:^|;\s*)madoguchi_chat=([A-Za-z0-9_-]{20,100})/);
    return m ? m[1] : null;
  }
  function writeKey(value) {
    document.cookie = COOKIE + "=" + (value || "") + "; Path=/; Max-Age=" + (value ? 604800 : 0) +
      "; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function el(tag, name) {
    var e = document.createElement(tag);
    e.className = name;
    return e;
  }

  var host = el("div", "");
  host.setAttribute("data-madoguchi", "chat");
  var shadow = host.attachShadow({ mode: "open" });
  var side = cfg.position === "left" ? "left" : "right";
  var css =
    ":host{all:initial}" + // rem: grows with the reader's text size
    ".bar{position:fixed;bottom:1.25rem;" + side + ":1.25rem;z-index:2147483000;display:flex;gap:.5rem;" +
    "flex-flow:" + (side === "left" ? "row" : "row-reverse") + " wrap-reverse;max-width:calc(100vw - 2.5rem)}" +
    '.launch{font:600 0.9375rem/1.2 "Hiragino Sans","Noto Sans CJK JP","Noto Sans JP","Yu Gothic UI",system-ui,sans-serif;' +
    "color:#fff;background:" + color + ";border:0;border-radius:1.5rem;padding:.75rem 1.125rem;cursor:pointer;" +
    "text-align:center;text-decoration:none;box-shadow:0 2px 10px rgba(0,0,0,.3)}" +
    ".launch:focus-visible{outline:3px solid #1b1b1b;outline-offset:2px;box-shadow:0 0 0 2px #fff,0 0 0 7px #fff}" +
    ".dot{display:inline-block;width:.5625rem;height:.5625rem;border-radius:50%;background:#ffbf47;margin-left:.375rem}" +
    ".panel{position:fixed;bottom:5rem;" + side + ":1.25rem;width:min(24rem,calc(100vw - 2.5rem));" +
    "height:min(39rem,calc(100vh - 6.25rem));" +
    "z-index:2147483000;border-radius:12px;overflow:hidden;box-shadow:0 4px 24px rgba(0,0,0,.35);background:#fff}" +
    "[hidden]{display:none}.guard{position:absolute;width:1px;height:1px;overflow:hidden}iframe{border:0;width:100%;height:100%}" +
    "@media (max-width:600px){.panel{inset:0;width:100%;height:100%;border-radius:0;bottom:0}}";
  try {
    // Not inline style: works under a strict host CSP.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = document.createElement("style");
    style.textContent = css;
    shadow.appendChild(style);
  }

  var button = el("button", "launch");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  var dot = el("span", "dot");
  dot.hidden = true;
  dot.setAttribute("aria-hidden", "true");
  button.appendChild(dot);
  var bar = el("div", "bar");
  bar.appendChild(button);
  if (/^(1|true|on|yes)$/.test(String(cfg.call))) {
    var call = el("a", "launch");
    call.href = desk + "/call/?lang=" + lang;
    call.target = "_blank";
    call.rel = "noopener";
    call.textContent = cfg.callLabel || (ja ? "ここからオンライン通話で相談" : "Start an online call");
    bar.appendChild(call);
  }

  var panel = el("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var frame = null;
  // Focus guards: in the modal panel, Tab past either end comes back into the chat.
  var guards = [0, 1].map(function () {
    var g = el("span", "guard");
    g.tabIndex = -1;
    g.addEventListener("focus", function () { frame && open(); });
    return g;
  });
  panel.appendChild(guards[0]);

  function load() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = title;
      frame.allow = "clipboard-write";
      frame.src = desk + "/chat/embed/?lang=" + lang + "&color=" + encodeURIComponent(color) +
        "&title=" + encodeURIComponent(title);
      panel.insertBefore(frame, guards[0].nextSibling);
      panel.appendChild(guards[1]);
    }
  }
  // Phone: a full-screen modal over an inert page. Desktop: a control focused under the
  // panel is scrolled clear of it.
  var fullScreen = window.matchMedia("(max-width: 600px)");
  var madeInert = [];
  function setModal() {
    var modal = !panel.hidden && fullScreen.matches;
    panel.setAttribute("aria-modal", modal ? "true" : "false");
    bar.hidden = modal;
    guards.forEach(function (g) { g.tabIndex = modal ? 0 : -1; });
    madeInert.forEach(function (e) { e.inert = false; });
    madeInert = [];
    if (!modal) return;
    Array.prototype.forEach.call((document.body || document.documentElement).children, function (e) {
      if (e !== host && !e.inert) {
        e.inert = true;
        madeInert.push(e);
      }
    });
  }
  if (fullScreen.addEventListener) fullScreen.addEventListener("change", setModal);
  document.addEventListener("focusin", function (e) {
    var t = e.target, p = panel.getBoundingClientRect();
    if (panel.hidden || fullScreen.matches || t === host || !t.getBoundingClientRect) return;
    var hit = function () {
      var r = t.getBoundingClientRect();
      return r.right > p.left && r.left < p.right && r.bottom > p.top && r.top < p.bottom;
    };
    if (hit()) window.scrollBy(0, t.getBoundingClientRect().bottom - p.top + 16);
    if (hit()) close(true);
  });

  function post(message) {
    frame.contentWindow && frame.contentWindow.postMessage(message, desk);
  }
  function open() {
    load();
    panel.hidden = false;
    dot.hidden = true;
    button.setAttribute("aria-expanded", "true");
    setModal();
    frame.focus();
    post({ type: "madoguchi:focus" });
  }
  function close(keepFocus) {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    setModal();
    if (keepFocus !== true) button.focus();
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
      post({ type: "madoguchi:init", token: readKey(), page: location.href });
      if (!panel.hidden) post({ type: "madoguchi:focus" });
    } else if (data.type === "madoguchi:token") {
      writeKey(typeof data.token === "string" && /^[A-Za-z0-9_-]{20,100}$/.test(data.token) ? data.token : null);
    } else if (data.type === "madoguchi:close") {
      close();
    } else if (data.type === "madoguchi:activity" && panel.hidden) {
      dot.hidden = false;
    }
  });

  shadow.appendChild(bar);
  shadow.appendChild(panel);
  (document.body || document.documentElement).appendChild(host);
  if (readKey()) load(); // a running chat goes on (closed until asked)
})();
