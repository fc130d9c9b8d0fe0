// The step editor's template pickers, enhanced: a search box filters the catalog by name, and
// picking a template shows its badges and text and builds one input per parameter (the same
// inputs the server renders without JS, after "Show its parameters"). Text only: the
// catalog's texts are set with textContent, never as HTML.
(() => {
  const data = document.getElementById("template-catalog");
  if (!data) return;
  const catalog = JSON.parse(data.textContent || "[]");
  const byKey = new Map(catalog.map((entry) => [entry.key, entry]));
  const STATUS_CLASS = {
    APPROVED: "badge-active", PENDING: "badge-paused", PAUSED: "badge-paused",
    REJECTED: "badge-archived", DISABLED: "badge-archived",
  };

  const el = (tag, props = {}, children = []) => {
    const node = document.createElement(tag);
    Object.entries(props).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    });
    children.forEach((child) => node.append(child));
    return node;
  };
  const badge = (text, extra = "") => el("span", { className: `badge ${extra}`.trim(), text });

  function chosenView(entry) {
    if (!entry) return [];
    const badges = el("p", {}, [
      badge(entry.category.toLowerCase()), " ",
      badge(entry.status.toLowerCase().replace(/_/g, " "), STATUS_CLASS[entry.status] || ""), " ",
      badge(entry.language),
    ]);
    if (entry.reason) badges.append(" ", el("small", { className: "muted", text: entry.reason }));
    const body = el("blockquote", { className: "template-body" });
    if (entry.headerText) body.append(el("strong", { text: entry.headerText }), el("br"));
    body.append(entry.bodyText);
    if (entry.footerText) body.append(el("br"), el("small", { text: entry.footerText }));
    return [badges, body];
  }

  function input(prefix, kind, index, label, value, extra = {}) {
    const id = `${prefix}-${kind}-${index}`;
    const field = el("input", {
      type: "text", name: `${prefix}_${kind === "parameter" ? "parameters" : kind}`, id,
      maxlength: kind === "header" ? "2048" : "1024", list: "drip-variables", ...extra,
    });
    field.value = value || "";
    return el("p", { className: "template-parameter" }, [el("label", { for: id, text: label }), " ", field]);
  }

  function parameterInputs(entry, prefix, fallback) {
    const nodes = entry.slots.map((slot, i) => {
      const row = input(prefix, "parameter", i + 1, slot.label, "", {
        placeholder: "{{first_name|there}} or text",
      });
      if (slot.context) row.insertBefore(el("small", { className: "muted", text: ` ${slot.context} ` }), row.lastChild);
      return row;
    });
    if (fallback) return nodes;
    if (entry.header) {
      const extra = entry.header.format === "TEXT" ? {} : { type: "url", placeholder: "https://example.com/image.jpg" };
      const row = input(prefix, "header", 1, entry.header.label, "", extra);
      row.querySelector("input").id = `${prefix}-header`;
      row.querySelector("label").setAttribute("for", `${prefix}-header`);
      nodes.push(row);
    }
    entry.buttons.forEach((button, i) => nodes.push(input(prefix, "buttons", i + 1, button.label, "")));
    return nodes;
  }

  document.querySelectorAll("[data-template-picker]").forEach((picker) => {
    const prefix = picker.dataset.templatePicker;
    const fallback = picker.hasAttribute("data-fallback");
    const select = picker.querySelector("[data-template-select]");
    const search = picker.querySelector("[data-template-search]");
    const chosen = picker.querySelector("[data-template-chosen]");
    const inputs = document.querySelector(`[data-template-inputs="${prefix}"]`);
    picker.querySelector("[data-template-choose]").hidden = true;
    search.hidden = false;
    picker.querySelector("[data-template-search-label]").hidden = false;

    search.addEventListener("input", () => {
      const words = search.value.trim().toLowerCase();
      Array.from(select.options).forEach((option) => {
        option.hidden = Boolean(option.value) && !option.value.toLowerCase().includes(words);
      });
    });
    select.addEventListener("change", () => {
      const entry = byKey.get(select.value);
      chosen.replaceChildren(...chosenView(entry));
      inputs.replaceChildren(...(entry ? parameterInputs(entry, prefix, fallback) : []));
      select.form.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
})();
