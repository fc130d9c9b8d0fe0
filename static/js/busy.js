// Forms marked data-busy do long work in one request (enrolling a whole tag, say): once the
// submit goes ahead, say so with a progress bar and keep the button from sending it twice.
// Listens after confirm.js, so a cancelled confirmation leaves the form as it was.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-busy]");
  if (!form || event.defaultPrevented) return;
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
  }
  const status = document.createElement("p");
  status.className = "busy";
  status.setAttribute("role", "status");
  const bar = document.createElement("progress");
  bar.setAttribute("aria-label", form.dataset.busy);
  status.append(bar, " ", form.dataset.busy);
  form.append(status);
});
