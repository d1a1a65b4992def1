import assert from "node:assert/strict";
import { test } from "node:test";

import { format, gettext, loadCatalogue, ngettext } from "../src/i18n.js";

test("gettext falls back to the msgid", () => {
  loadCatalogue({ "Raise hand": "Rekk opp hånden", Empty: "" });
  assert.equal(gettext("Raise hand"), "Rekk opp hånden");
  assert.equal(gettext("Unknown"), "Unknown");
  assert.equal(gettext("Empty"), "Empty");
  loadCatalogue(null);
  assert.equal(gettext("Raise hand"), "Raise hand");
});

test("format fills named placeholders and leaves unknown ones", () => {
  assert.equal(format("%(time)s igjen", { time: "04:00" }), "04:00 igjen");
  assert.equal(format("%(a)s and %(b)s", { a: 1 }), "1 and %(b)s");
  assert.equal(format("%(name)s", { name: "<b>x</b>" }), "<b>x</b>");
});

test("ngettext picks the singular for one and the plural for every other count", () => {
  loadCatalogue({ "%(count)s group": ["%(count)s gruppe", "%(count)s grupper"], Gone: ["", ""] });
  const groups = (n) => format(ngettext("%(count)s group", "%(count)s groups", n), { count: n });
  assert.deepEqual([0, 1, 2, 21].map(groups), ["0 grupper", "1 gruppe", "2 grupper", "21 grupper"]);
  assert.equal(ngettext("Gone", "Gones", 1), "Gone");
  assert.equal(ngettext("%(count)s person", "%(count)s people", 3), "%(count)s people");
  assert.equal(gettext("%(count)s group"), "%(count)s group"); // a plural entry is no gettext one
  loadCatalogue(null);
  assert.equal(ngettext("%(count)s group", "%(count)s groups", 1), "%(count)s group");
});
