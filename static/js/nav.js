// Every page's chrome, for small screens and the keyboard:
// - the top bar's Menu button (shown by drip.css on a phone) opens and closes the navigation,
//   with aria-expanded saying which; Escape closes it and puts focus back on the button;
// - a region that scrolls sideways (a wide table in its card) can be reached and scrolled
//   with the keyboard (tabindex=0), whatever its content.
(() => {
  const bar = document.querySelector(".topbar");
  const toggle = bar && bar.querySelector(".nav-toggle");
  if (toggle) {
    const setOpen = (open) => {
      bar.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", String(open));
    };
    bar.classList.add("nav-ready");
    toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
    bar.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && bar.classList.contains("nav-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  const markScrollable = () => {
    document.querySelectorAll(".card, .table-scroll, .table").forEach((region) => {
      const scrolls = region.scrollWidth > region.clientWidth + 1;
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
        region.dataset.scrollRegion = "";
      } else if (!scrolls && "scrollRegion" in region.dataset) {
        region.removeAttribute("tabindex");
        delete region.dataset.scrollRegion;
      }
    });
  };
  markScrollable();
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(markScrollable, 150);
  });
})();
