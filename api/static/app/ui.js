// Small DOM helpers: elements are built with textContent (never innerHTML), so data from the server
// or typed at a door can't become markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) { continue; }
    if (key === "class") { el.className = value; } else if (key.startsWith("on")) {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") { Object.assign(el.dataset, value); } else if (value === true) {
      el.setAttribute(key, "");
    } else { el.setAttribute(key, String(value)); }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) { continue; }
    el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return el;
}

let counter = 0;
export function uid(prefix) { counter += 1; return `${prefix}-${counter}`; }

// A labelled field: label[for] + the control, in one block.
export function field(labelText, control, hint) {
  if (!control.id) { control.id = uid("f"); }
  return h("div", { class: "field" }, h("label", { for: control.id }, labelText), control,
    hint ? h("p", { class: "hint" }, hint) : null);
}

export function isoNow() {
  const d = new Date();
  const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:`
    + `${pad(d.getSeconds())}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}
