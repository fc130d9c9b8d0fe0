// Forms and submit buttons marked data-confirm ask before they submit (destructive actions).
// A button's question wins over its form's, so one form can hold a harmless button and a
// destructive one.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const source =
    button && button.hasAttribute("data-confirm") ? button : event.target.closest("form[data-confirm]");
  if (source && !window.confirm(source.dataset.confirm)) {
    event.preventDefault();
  }
});
