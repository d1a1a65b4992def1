import assert from "node:assert/strict";
import { test } from "node:test";

import { format, gettext, loadCatalogue } from "../src/i18n.js";

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
