// Show the category-dependent fields (class details, Zoom sign-in address) only for the
// categories that ask for them. Without JavaScript every field stays visible.
const form = document.getElementById("inquiry-form");
const mapping = JSON.parse(document.getElementById("category-fields")?.textContent || "{}");
const select = form?.querySelector("select[name=category]");
const examNote = form?.querySelector(".exam-note");

// A shown category field that the server requires is required in the browser too: the
// class details always, the Zoom address unless "I cannot check it" is ticked.
const zoomUnknown = form?.querySelector("input[name=zoom_signin_unknown]");

function requireShown() {
  for (const el of form.querySelectorAll("[data-required-when-shown]")) {
    const input = el.querySelector("input, select, textarea");
    if (!input) continue;
    const rule = el.dataset.requiredWhenShown;
    input.required = !el.hidden && (rule === "always" || !(zoomUnknown && zoomUnknown.checked));
  }
}

function update() {
  const wanted = new Set(mapping[select.value] || []);
  for (const el of form.querySelectorAll("[data-extra]")) {
    const show = wanted.has(el.dataset.extra);
    el.hidden = !show;
    for (const input of el.querySelectorAll("input, select, textarea")) input.disabled = !show;
  }
  if (examNote) examNote.hidden = select.value !== "exam";
  requireShown();
}

zoomUnknown?.addEventListener("change", () => requireShown());

if (form && select) {
  select.addEventListener("change", update);
  update();
  const summary = form.querySelector(".error-summary");
  if (summary) summary.focus();
}

// Required fields are checked before the form is sent (the server checks again): each
// empty one gets the message under it, and focus goes to the first.
form?.addEventListener("submit", (event) => {
  const message = form.dataset.requiredMessage;
  let first = null;
  for (const input of form.querySelectorAll("input, select, textarea")) {
    const field = input.closest(".field");
    if (!field || input.disabled || input.type === "hidden") continue;
    const noteId = `${input.id}_client_error`;
    field.querySelector(".error.client")?.remove();
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((t) => t && t !== noteId);
    const missing = input.required && !input.value.trim();
    if (missing) {
      const note = document.createElement("div");
      note.className = "error client";
      note.id = noteId;
      note.textContent = message;
      field.append(note);
      described.push(noteId);
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
    field.classList.toggle("invalid", field.querySelector(".error") !== null);
  }
  if (first) {
    event.preventDefault();
    first.focus();
  }
});
// "Other" member category asks for a description; show that field only then.
const member = form?.querySelector("select[name=member_category]");
const otherField = form?.querySelector("[name=member_category_other]")?.closest(".field");
if (member && otherField) {
  const toggle = () => {
    otherField.hidden = member.value !== "other";
  };
  member.addEventListener("change", toggle);
  toggle();
}

// Related FAQ articles while the requester types the subject (deflection).
const subject = form?.querySelector("input[name=subject]");
const suggestBox = document.getElementById("suggestions");
if (subject && suggestBox) {
  let timer = null;
  subject.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = subject.value.trim();
      if (q.length < 2) {
        suggestBox.replaceChildren();
        return;
      }
      const url = new URL(suggestBox.dataset.url, location.href);
      url.searchParams.set("q", q);
      url.searchParams.set("lang", document.documentElement.lang || "ja");
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) suggestBox.innerHTML = await response.text(); // server-rendered, escaped
    }, 400);
  });
}
