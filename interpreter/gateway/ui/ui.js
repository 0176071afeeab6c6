// The run page's shared code (the key, API calls, the events stream) and the home page:
// recent runs, the catalogue, and a start form built from each saga's input schema.
// Data only ever enters the page as text (textContent), never as HTML.

const KEY = "saga-gateway-key";

// --- the key and the API ---------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `the gateway answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

/** fetch() on the gateway with the bearer key; a 401 asks for the key again. */
export async function api(path, options = {}) {
  const answer = await fetch(path, { ...options, headers: headers(options.headers) });
  if (answer.status === 401) {
    sessionStorage.removeItem(KEY);
    await signIn("The gateway refused the key.");
    return api(path, options);
  }
  return answer;
}

/** The answer's JSON; an ApiError for an error answer. */
export async function json(answer) {
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(answer.status, body);
  return body;
}

/** The caller's {name, scope}, asking for a key until the gateway takes one. */
export async function signIn(message = "") {
  for (;;) {
    const answer = await fetch("/me", { headers: headers() });
    if (answer.ok) return showWho(await answer.json());
    if (answer.status !== 401) throw new ApiError(answer.status, await answer.json().catch(() => ({})));
    const hadKey = sessionStorage.getItem(KEY) !== null;
    sessionStorage.removeItem(KEY);
    await askKey(message || (hadKey ? "The gateway refused the key." : ""));
    message = "The gateway refused the key.";
  }
}

function askKey(message) {
  const section = byId("key");
  const form = byId("key-form");
  const input = byId("key-input");
  byId("key-error").textContent = message;
  section.hidden = false;
  input.value = "";
  input.focus();
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      section.hidden = true;
      form.onsubmit = null;
      resolve();
    };
  });
}

function showWho(me) {
  const who = byId("who");
  who.replaceChildren(`${me.name} (${me.scope})`);
  if (sessionStorage.getItem(KEY) !== null) {
    const forget = el("button", { type: "button" }, "Forget key");
    forget.onclick = () => {
      sessionStorage.removeItem(KEY);
      location.reload();
    };
    who.append(" ", forget);
  }
  who.hidden = false;
  return me;
}

/**
 * Server-Sent Events read with fetch(), so the key travels in a header, never in a URL.
 * Calls onEvent({event, data}) for each event; returns when the stream closes.
 */
export async function readEvents(path, onEvent, signal) {
  const answer = await api(path, { signal, headers: { Accept: "text/event-stream" } });
  if (!answer.ok) await json(answer);
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // CRLF, CR or LF end a line; a CR at the end may be the half of a CRLF.
    buffer = (buffer + value).replace(/\r\n|\r(?!$)/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (event) onEvent(event);
    }
  }
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

// --- small DOM helpers ---------------------------------------------------------------

export function byId(id) {
  return document.getElementById(id);
}

/** An element with attributes (a `class`, `data-*`, properties) and text or node children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name in node && !name.includes("-") && name !== "list") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** A status as text and colour: the word is always there, the colour only helps. */
export function badge(status) {
  return el("span", { className: `badge status-${status}` }, status.replaceAll("_", " "));
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function runUrl(id) {
  return `/ui/runs/${encodeURIComponent(id)}`;
}

export function showError(error) {
  const node = byId("page-error");
  node.textContent = error instanceof Error ? error.message : String(error);
  node.hidden = false;
}

// --- the home page -------------------------------------------------------------------

async function home() {
  const me = await signIn();
  byId("refresh-runs").onclick = () => loadRuns().catch(showError);
  await Promise.all([loadRuns(), loadCatalogue(me.scope === "write")]);
}

async function loadRuns() {
  const runs = await json(await api("/runs?limit=20"));
  const rows = runs.map((run) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: runUrl(run.id) }, run.id)),
      el("td", {}, run.saga),
      el("td", {}, badge(run.status)),
      el("td", {}, time(run.started_at)),
      el("td", {}, time(run.closed_at)),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: 5 }, "No runs yet.")));
  byId("runs").tBodies[0].replaceChildren(...rows);
}

async function loadCatalogue(canStart) {
  const sagas = await json(await api("/sagas"));
  const items = sagas.map((saga) => sagaEntry(saga, canStart));
  if (!items.length) items.push(el("p", {}, "No saga files in the gateway's folders."));
  byId("catalogue").replaceChildren(...items);
}

function sagaEntry(saga, canStart) {
  const entry = el(
    "article",
    { className: "saga", "data-saga": saga.name },
    el("h3", {}, saga.name),
    saga.description ? el("p", {}, saga.description) : null,
    el("p", { className: "note" }, saga.file),
  );
  if (!saga.valid) {
    entry.append(el("p", {}, badge("INVALID"), " This file cannot be started:"));
    const list = saga.diagnostics.map((d) => el("li", {}, `${d.line}:${d.column}: ${d.severity}: ${d.message}`));
    entry.append(el("ul", { className: "diagnostics" }, ...list));
  } else if (canStart) {
    entry.append(startForm(saga));
  }
  return entry;
}

// --- the start form, built from the input schema ---------------------------------------

let fieldCount = 0;

function startForm(saga) {
  const form = el("form", { className: "start", noValidate: true, "aria-label": `Start ${saga.name}` });
  const root = saga.input_schema
    ? field(saga.input_schema, "", "", true, form)
    : jsonField({}, "", "Input (JSON, optional)", false);
  const formError = el("div", { className: "error", role: "alert" });
  form.append(root.node, el("p", {}, el("button", { type: "submit" }, `Start ${saga.name}`)), formError);
  form.onsubmit = (event) => {
    event.preventDefault();
    submit(saga, form, root, formError).catch((error) => {
      formError.replaceChildren(error.message);
    });
  };
  return form;
}

async function submit(saga, form, root, formError) {
  for (const node of form.querySelectorAll(".field .error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  formError.replaceChildren();
  const errors = [];
  const value = root.read(errors);
  if (errors.length) return showFieldErrors(form, formError, errors);
  const options = { method: "POST", headers: { "Content-Type": "application/json" } };
  if (value !== undefined) options.body = JSON.stringify(value);
  const answer = await api(`/sagas/${encodeURIComponent(saga.name)}/runs`, options);
  const body = await answer.json().catch(() => ({}));
  if (answer.ok) {
    location.assign(runUrl(body.id));
    return;
  }
  formError.append(el("p", {}, body.detail || `the gateway answered ${answer.status}`));
  showFieldErrors(form, formError, body.errors || []);
}

/** Each error next to the field its JSON pointer is in (the deepest one), else under the form. */
function showFieldErrors(form, formError, errors) {
  const fields = [...form.querySelectorAll(".field")];
  let first = null;
  for (const error of errors) {
    const pointer = error.pointer || "";
    const owner = fields
      .filter((f) => pointer === f.dataset.pointer || pointer.startsWith(`${f.dataset.pointer}/`))
      .sort((a, b) => b.dataset.pointer.length - a.dataset.pointer.length)[0];
    if (!owner) {
      formError.append(el("p", {}, pointer ? `${pointer}: ${error.message}` : error.message));
      continue;
    }
    const slot = owner.querySelector(".error");
    slot.textContent = slot.textContent ? `${slot.textContent} ${error.message}` : error.message;
    const input = owner.querySelector("input, select, textarea");
    input.setAttribute("aria-invalid", "true");
    first = first || input;
  }
  if (first) first.focus();
}

function escapePointer(name) {
  return name.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** A field for `schema`: {node, read(errors)}; read gives the value, or undefined if absent. */
function field(schema, pointer, name, required, form) {
  schema = schema && typeof schema === "object" ? schema : {};
  const label = schema.title || name;
  if (Array.isArray(schema.enum)) return enumField(schema, pointer, label, required);
  if (schema.type === "object" && schema.properties) return objectField(schema, pointer, label, required, form);
  if (schema.type === "string") return stringField(schema, pointer, label, required);
  if (schema.type === "number" || schema.type === "integer") return numberField(schema, pointer, label, required);
  if (schema.type === "boolean") return booleanField(schema, pointer, label, required);
  return jsonField(schema, pointer, label, required);
}

function objectField(schema, pointer, label, required, form) {
  const needed = new Set(schema.required || []);
  const children = Object.entries(schema.properties).map(([key, sub]) => [
    key,
    field(sub, `${pointer}/${escapePointer(key)}`, key, needed.has(key), form),
  ]);
  const parts = children.map(([, child]) => child.node);
  const node = pointer === ""
    ? el("div", { className: "fields" }, ...parts)
    : el("fieldset", {}, el("legend", {}, label), hint(schema), ...parts);
  return {
    node,
    read(errors) {
      const value = {};
      const found = [];
      for (const [key, child] of children) {
        const item = child.read(found);
        if (item !== undefined) value[key] = item;
      }
      // An optional object left empty is left out, required fields inside it with it.
      const absent = !required && !Object.keys(value).length;
      errors.push(...found.filter((error) => !(absent && error.missing)));
      return absent ? undefined : value;
    },
  };
}

function hint(schema) {
  return schema.description ? el("p", { className: "note" }, schema.description) : null;
}

/** The label, the control, the description and the error slot of one field. */
function wrap(schema, pointer, label, required, control, after = null) {
  const id = `field-${++fieldCount}`;
  control.id = id;
  control.name = pointer;
  control.setAttribute("aria-describedby", `${id}-error${schema.description ? ` ${id}-hint` : ""}`);
  if (required) control.setAttribute("aria-required", "true");
  const text = el("label", { htmlFor: id }, label || "input", required ? el("span", { className: "required" }, " (required)") : null);
  const node = el(
    "div",
    { className: "field", "data-pointer": pointer },
    text,
    control,
    after,
    schema.description ? el("p", { className: "note", id: `${id}-hint` }, schema.description) : null,
    el("p", { className: "error", id: `${id}-error`, "aria-live": "polite" }),
  );
  return node;
}

function missing(errors, pointer, required) {
  if (required) errors.push({ pointer, message: "this field is required", missing: true });
  return undefined;
}

function enumField(schema, pointer, label, required) {
  const options = schema.enum.map((item) => el("option", { value: JSON.stringify(item) }, String(item)));
  const select = el("select", {}, required ? null : el("option", { value: "" }, "(not set)"), ...options);
  if (schema.default !== undefined) select.value = JSON.stringify(schema.default);
  return {
    node: wrap(schema, pointer, label, required, select),
    read: (errors) => (select.value === "" ? missing(errors, pointer, required) : JSON.parse(select.value)),
  };
}

function stringField(schema, pointer, label, required) {
  const input = el("input", { type: "text", minLength: schema.minLength, maxLength: schema.maxLength });
  if (typeof schema.default === "string") input.value = schema.default;
  return {
    node: wrap(schema, pointer, label, required, input),
    read(errors) {
      const value = input.value;
      if (value === "") return missing(errors, pointer, required);
      const problem = stringProblem(schema, value);
      if (problem) errors.push({ pointer, message: problem });
      return value;
    },
  };
}

function stringProblem(schema, value) {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) return `use at least ${schema.minLength} characters`;
  if (schema.maxLength !== undefined && length > schema.maxLength) return `use at most ${schema.maxLength} characters`;
  if (schema.pattern !== undefined) {
    try {
      if (!new RegExp(schema.pattern, "u").test(value)) return `must match the pattern ${schema.pattern}`;
    } catch {
      return null; // a pattern this browser cannot read: the gateway checks it
    }
  }
  return null;
}

function numberField(schema, pointer, label, required) {
  const integer = schema.type === "integer";
  const input = el("input", { type: "number", step: integer ? "1" : "any", inputMode: integer ? "numeric" : "decimal" });
  if (schema.minimum !== undefined) input.min = schema.minimum;
  if (schema.maximum !== undefined) input.max = schema.maximum;
  if (typeof schema.default === "number") input.value = schema.default;
  return {
    node: wrap(schema, pointer, label, required, input),
    read(errors) {
      if (input.value === "" && !input.validity.badInput) return missing(errors, pointer, required);
      const value = Number(input.value);
      const problem = numberProblem(schema, value, input.value === "" ? NaN : value);
      if (problem) errors.push({ pointer, message: problem });
      return value;
    },
  };
}

function numberProblem(schema, value, parsed) {
  if (!Number.isFinite(parsed)) return "enter a number";
  if (schema.type === "integer" && !Number.isInteger(value)) return "enter a whole number";
  if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
  if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `must be more than ${schema.exclusiveMinimum}`;
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `must be less than ${schema.exclusiveMaximum}`;
  return null;
}

function booleanField(schema, pointer, label, required) {
  if (required) {
    const box = el("input", { type: "checkbox", checked: schema.default === true });
    return { node: wrap(schema, pointer, label, false, box), read: () => box.checked };
  }
  const select = el("select", {}, el("option", { value: "" }, "(not set)"), el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
  if (typeof schema.default === "boolean") select.value = String(schema.default);
  return {
    node: wrap(schema, pointer, label, false, select),
    read: () => (select.value === "" ? undefined : select.value === "true"),
  };
}

/** Arrays and anything the form cannot draw: JSON text, parsed on submit. */
function jsonField(schema, pointer, label, required) {
  const area = el("textarea", { rows: 3, spellcheck: false, className: "json" });
  if (schema.default !== undefined) area.value = JSON.stringify(schema.default);
  const example = schema.type === "array" ? "JSON, for example [\"a\", \"b\"]" : "JSON";
  area.placeholder = example;
  return {
    node: wrap(schema, pointer, `${label || "input"} (JSON)`, required, area),
    read(errors) {
      if (area.value.trim() === "") return missing(errors, pointer, required);
      try {
        return JSON.parse(area.value);
      } catch (error) {
        errors.push({ pointer, message: `this is not JSON: ${error.message}` });
        return undefined;
      }
    },
  };
}

if (document.body.dataset.page === "home") home().catch(showError);
