// Show the category-dependent fields (class details, Zoom sign-in address) only for the
// categories that ask for them. Without JavaScript every field stays visible.
const form = document.getElementById("inquiry-form");
const mapping = JSON.parse(document.getElementById("category-fields")?.textContent || "{}");
const select = form?.querySelector("select[name=category]");
const examNote = form?.querySelector(".exam-note");

function update() {
  const wanted = new Set(mapping[select.value] || []);
  for (const el of form.querySelectorAll("[data-extra]")) {
    const show = wanted.has(el.dataset.extra);
    el.hidden = !show;
    for (const input of el.querySelectorAll("input, select, textarea")) input.disabled = !show;
  }
  if (examNote) examNote.hidden = select.value !== "exam";
}

if (form && select) {
  select.addEventListener("change", update);
  update();
  const summary = form.querySelector(".error-summary");
  if (summary) summary.focus();
}

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
      const url = `${suggestBox.dataset.url}?q=${encodeURIComponent(q)}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) suggestBox.innerHTML = await response.text(); // server-rendered, escaped
    }, 400);
  });
}
