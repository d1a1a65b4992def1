// gettext() and ngettext() for the browser: the server puts the `room` catalogue into the
// page as JSON (msgid -> translation; a plural entry's singular msgid -> [singular, plural]).
// Write every user-facing string as a literal gettext("...") call, and every count as a
// literal ngettext("...", "...", n) call, so that `pybabel extract -F babel-room.cfg` finds it.

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

// The words for a count: ngettext("%(count)s group", "%(count)s groups", n), then format().
// Bokmål, nynorsk and English have two forms, and one is the only singular (the catalogues'
// Plural-Forms: nplurals=2; plural=(n != 1)).
export function ngettext(singular, plural, count) {
  const form = count === 1 ? 0 : 1;
  const translated = catalogue[singular];
  const text = Array.isArray(translated) ? translated[form] : undefined;
  return typeof text === "string" && text !== "" ? text : [singular, plural][form];
}

// Fill Python-style %(name)s placeholders: format(gettext("%(time)s left"), {time: "04:00"}).
export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole);
}
