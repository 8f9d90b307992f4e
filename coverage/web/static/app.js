// ketamine-letters web workspace: the one behaviour htmx does not cover.
// Picking a code from the ICD-10-CM search puts it in its field and re-runs the review.
"use strict";
document.addEventListener("click", function (event) {
  const button = event.target.closest(".code-pick");
  if (!button) return;
  const input = document.getElementById(button.dataset.target);
  if (!input) return;
  input.value = button.dataset.code;
  const results = button.closest(".code-results");
  if (results) results.replaceChildren();
  input.dispatchEvent(new Event("change", { bubbles: true }));
  input.focus();
});
