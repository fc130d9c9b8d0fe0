// Live preview of a step's message: posts the form's message fields to the preview endpoint
// as the marketer types, and shows the rendered text (as text, never as HTML) and any errors.
(() => {
  const editor = document.querySelector(".step-editor");
  if (!editor) return;
  const form = editor.closest("form");
  const output = editor.querySelector("[data-preview-text]");
  const errorList = editor.querySelector("[data-preview-errors]");
  const fallbackOutput = editor.querySelector("[data-preview-fallback]");
  const contact = editor.querySelector("#preview-contact");
  const counter = form.querySelector("[data-char-counter]");
  const missingList = editor.querySelector("[data-preview-missing]");
  const textarea = form.elements.message_content;
  const number = (n) => n.toLocaleString("en-US");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let timer = null;
  let latest = 0;

  const value = (name) => (form.elements[name] ? form.elements[name].value : "");
  const messageType = () => {
    const checked = form.querySelector('input[name="message_type"]:checked');
    return checked ? checked.value : "text";
  };

  function showType() {
    const type = messageType();
    editor.querySelectorAll("[data-message-type]").forEach((block) => {
      block.hidden = block.dataset.messageType !== type;
    });
  }

  // A picked template is name:language; its parameters are inputs of one name, in order.
  const all = (name) => Array.from(form.querySelectorAll(`[name="${name}"]`)).map((i) => i.value.trim());
  const picked = (name) => {
    const [template, language] = value(name).split(":");
    return { name: template || "", language: language || "en_US" };
  };

  function body() {
    const data = { messageType: messageType() };
    if (data.messageType === "template") {
      const header = value("template_header").trim();
      data.template = {
        ...picked("template"),
        parameters: all("template_parameters"),
        header: header || null,
        buttons: all("template_buttons"),
      };
    } else {
      data.messageContent = value("message_content");
      const fallback = picked("fallback_template");
      if (fallback.name) data.fallbackTemplate = { ...fallback, parameters: all("fallback_template_parameters") };
    }
    if (contact.value) data.contactId = Number(contact.value);
    return data;
  }

  // At once as the marketer types, before the server's figures arrive: the length typed.
  function countTyped() {
    if (!counter || !textarea) return;
    const limit = Number(counter.dataset.limit);
    const typed = textarea.value.length;
    counter.dataset.typed = String(typed);
    if (typed > limit) {
      counter.textContent = `${number(typed)} of ${number(limit)} characters: ${number(typed - limit)} too many. WhatsApp refuses a longer text; shorten it before saving.`;
      counter.classList.add("over");
    } else if (!counter.dataset.longest) {
      counter.textContent = `${number(typed)} of ${number(limit)} characters.`;
      counter.classList.remove("over");
    }
  }

  // The server's figures: the length as this contact reads it and with the longest values.
  function showLength(length) {
    if (!counter || !length || length.typed === null) return;
    const limit = length.limit;
    counter.dataset.longest = String(length.longest);
    const over = Math.max(length.typed, length.longest) > limit;
    counter.classList.toggle("over", over);
    let text = `${number(length.longest)} of ${number(limit)} characters with the longest values among your contacts`;
    text += length.characters !== null ? ` (${number(length.characters)} for this preview).` : ".";
    if (length.typed > limit) {
      text = `${number(length.typed)} of ${number(limit)} characters as typed: ${number(length.typed - limit)} too many. WhatsApp refuses a longer text; shorten it before saving.`;
    } else if (length.longest > limit) {
      text += ` That is over WhatsApp's limit: the send to the contacts with the longest values would fail. Shorten the text or the variables.`;
    }
    counter.textContent = text;
  }

  function showMissing(missing) {
    if (!missingList) return;
    missingList.replaceChildren();
    (missing || []).forEach((item) => {
      const li = document.createElement("li");
      li.textContent = item.text;
      missingList.append(li);
    });
    missingList.hidden = !(missing && missing.length);
  }

  async function refresh() {
    const ticket = ++latest;
    output.classList.add("loading");
    try {
      const response = await fetch(editor.dataset.previewUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body()),
        credentials: "same-origin",
      });
      const payload = await response.json();
      if (ticket !== latest) return;
      errorList.replaceChildren();
      if (!response.ok) {
        output.textContent = payload.error ? payload.error.message : "Preview unavailable.";
        return;
      }
      const result = payload.data;
      output.textContent = result.text === null ? "—" : result.text;
      if (fallbackOutput) {
        fallbackOutput.hidden = !result.fallback;
        fallbackOutput.textContent = result.fallback ? `Outside the 24-hour window:\n${result.fallback}` : "";
      }
      showLength(result.length);
      showMissing(result.missing);
      Object.values(result.errors).forEach((message) => {
        const item = document.createElement("li");
        item.textContent = message;
        errorList.append(item);
      });
    } catch (err) {
      output.textContent = "Preview unavailable (connection problem).";
    } finally {
      output.classList.remove("loading");
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  form.addEventListener("input", () => { countTyped(); schedule(); });
  form.addEventListener("change", () => { showType(); schedule(); });
  showType();
  countTyped();
  if (value("message_content") || value("template")) refresh();
})();
