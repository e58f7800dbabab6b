// Building pages from elements (text is always text: nothing from the API becomes HTML),
// forms whose errors land next to their fields, and short messages.

import { ApiError } from "./api.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// HTML the API rendered and sanitised (a description's `description_html`), as nodes to
// place: parsed in an inert template, where nothing runs or loads. The API keeps only
// formatting and plain links; the page's Content-Security-Policy is the second guard.
export function markup(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
}

export function render(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes.flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false));
}

export function title(text) {
  document.title = text ? `${text} · Job board` : "Job board";
}

let flashTimer;
export function flash(message) {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.classList.toggle("shown", Boolean(message));
  clearTimeout(flashTimer);
  if (message) flashTimer = setTimeout(() => flash(""), 6000);
}

let fieldCounter = 0;

// A labelled field: <label> + control + the place its error goes.
export function field(label, control, hint) {
  fieldCounter += 1;
  const id = control.id || `field-${fieldCounter}`;
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const describedBy = [`${id}-error`];
  let hintNode = null;
  if (hint) {
    hintNode = h("p", { class: "hint", id: `${id}-hint` }, hint);
    describedBy.push(`${id}-hint`);
  }
  control.setAttribute("aria-describedby", describedBy.join(" "));
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintNode, error);
}

export function input(name, attributes = {}) {
  return h("input", { name, ...attributes });
}

export function select(name, options, attributes = {}) {
  return h(
    "select",
    { name, ...attributes },
    options.map(([value, label]) => h("option", { value }, label)),
  );
}

export function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfter) {
      return `${error.message} Try again in ${error.retryAfter} seconds.`;
    }
    return error.describe();
  }
  return "Something went wrong; check your connection and try again.";
}

// A form's problem: 422 errors next to their fields, anything else at the form's end.
export function showProblem(form, error) {
  clearProblem(form);
  const fields = error instanceof ApiError ? error.fieldErrors() : {};
  let placed = false;
  for (const [name, message] of Object.entries(fields)) {
    const control = form.elements.namedItem(name);
    if (!control || !control.id) continue;
    const slot = document.getElementById(`${control.id}-error`);
    slot.textContent = message;
    slot.hidden = false;
    control.setAttribute("aria-invalid", "true");
    if (!placed) control.focus();
    placed = true;
  }
  const summary = form.querySelector(".form-error");
  summary.textContent = placed ? "Check the fields marked above." : describe(error);
  summary.hidden = false;
}

export function clearProblem(form) {
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
  }
  const summary = form.querySelector(".form-error");
  if (summary) summary.hidden = true;
}

// A form that calls `submit(values)`; its button is busy meanwhile; errors are shown.
export function form(attributes, children, submit, buttonLabel) {
  const button = h("button", { type: "submit", class: "primary" }, buttonLabel);
  const node = h(
    "form",
    { novalidate: true, ...attributes },
    children,
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h("div", { class: "actions" }, button),
  );
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(node);
    button.disabled = true;
    try {
      await submit(new FormData(node), node);
    } catch (error) {
      showProblem(node, error);
    } finally {
      button.disabled = false;
    }
  });
  return node;
}

// A button for an action on a row: busy while it runs, its problem shown beside it. With
// `ask`, a destructive action asks first and does nothing unless confirmed. What `run`
// returns, when it is text, is flashed: every action says that it worked.
/**
 * @param {string} label
 * @param {(button: HTMLButtonElement) => Promise<unknown>} run
 * @param {Record<string, unknown>} [attributes]
 * @param {{ ask?: string | (() => string) }} [options]
 */
export function action(label, run, attributes = {}, { ask } = {}) {
  const message = h("span", { class: "inline-error", role: "alert" });
  const button = /** @type {HTMLButtonElement} */ (h("button", { type: "button", ...attributes }, label));
  button.addEventListener("click", async () => {
    if (ask && !window.confirm(typeof ask === "function" ? ask() : ask)) return;
    button.disabled = true;
    message.textContent = "";
    try {
      const done = await run(button);
      if (typeof done === "string") flash(done);
    } catch (error) {
      message.textContent = describe(error);
    } finally {
      button.disabled = false;
    }
  });
  return h("span", { class: "action" }, button, message);
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

// How long ago a moment was, in days: "today", "yesterday", "5 days ago".
export function ago(iso) {
  if (!iso) return "";
  const days = Math.floor((Date.now() - Date.parse(iso)) / 86400000);
  if (days <= 0) return "today";
  return days === 1 ? "yesterday" : `${days} days ago`;
}

// How the API's values read; one the API adds later reads as its words.
const LABELS = {
  remote: "Remote",
  hybrid: "Hybrid",
  onsite: "On site",
  full_time: "Full time",
  part_time: "Part time",
  contract: "Contract",
  internship: "Internship",
  temporary: "Temporary",
};

export function label(value) {
  return LABELS[value] ?? words(value).replace(/^./, (first) => first.toUpperCase());
}

// A select's options from a list of the API's values, after an optional "any" choice.
export function choices(values, any) {
  return [...(any ? [["", any]] : []), ...values.map((value) => [value, label(value)])];
}

export function words(value) {
  return String(value).replaceAll("_", " ");
}

export function salary(job) {
  if (job.salary_min === null && job.salary_max === null) return null;
  const format = (amount) => amount.toLocaleString();
  const currency = job.salary_currency ? ` ${job.salary_currency}` : "";
  if (job.salary_min !== null && job.salary_max !== null) {
    return `${format(job.salary_min)}–${format(job.salary_max)}${currency}`;
  }
  return `${format(job.salary_min ?? job.salary_max)}${currency}`;
}

// Hand a file the API answered with to the browser, which saves it under `name`.
/**
 * @param {Blob} blob
 * @param {string} name
 */
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function bytes(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${Math.round(size / 1024)} KB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}
