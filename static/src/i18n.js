// gettext() for the browser: the server puts the `room` catalogue (msgid -> translation)
// into the page as JSON. Write every user-facing string as a literal gettext("...") call,
// so that `pybabel extract -F babel-room.cfg` finds it.

let catalogue = {};

export function readJson(id, fallback = {}) {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent || "null") ?? fallback;
  } catch {
    return fallback;
  }
}

export function loadCatalogue(entries) {
  catalogue = entries && typeof entries === "object" ? entries : {};
}

export function gettext(msgid) {
  const translated = catalogue[msgid];
  return typeof translated === "string" && translated !== "" ? translated : msgid;
}

// Fill Python-style %(name)s placeholders: format(gettext("%(time)s left"), {time: "04:00"}).
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole);
}
