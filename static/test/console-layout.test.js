import assert from "node:assert/strict";
import { test } from "node:test";

import {
  PANELS, RECENT_CHOICE_MS, isTextEntry, onSuitableChange, shortcutPanel, suitablePanel,
} from "../src/console-layout.js";

const item = (kind, extra = {}) => ({ id: 1, title: "Punkt", kind, planned_minutes: 10, ...extra });
const live = (kind, extra = {}) => ({
  phase: "live", agenda: [item(kind, extra)], current: kind ? { index: 0 } : null, breakouts: null,
});

test("the panel that suits the gathering follows the current item's kind", () => {
  assert.equal(suitablePanel(live("breakout")), "breakouts");
  assert.equal(suitablePanel(live("qa")), "qa");
  assert.equal(suitablePanel(live("expert_talk")), "stage");
  assert.equal(suitablePanel(live("plenary")), "people");
  assert.equal(suitablePanel(live("welcome")), "people");
  assert.equal(suitablePanel(live("welcome", { checkin_poll: { question: "Hvordan går det?" } })), "qa");
  assert.equal(suitablePanel(live("wrap_up")), "notes");
  assert.equal(suitablePanel(live("break")), null);
  assert.equal(suitablePanel(live(null)), null); // live, no item started yet
  assert.equal(suitablePanel({ ...live("qa"), phase: "lobby" }), null);
  assert.equal(suitablePanel(null), null);
});

test("groups proposed or open call for the breakout panel, whatever the item", () => {
  const groups = (status) => ({ ...live("plenary"), breakouts: { status } });
  assert.equal(suitablePanel(groups("proposed")), "breakouts");
  assert.equal(suitablePanel(groups("open")), "breakouts");
  assert.equal(suitablePanel(groups("recalled")), "people");
});

test("the suitable panel is shown, or only offered while the facilitator works elsewhere", () => {
  const now = 1_000_000;
  const base = { suitable: "breakouts", shown: "chat", chosenAt: null, now, working: false };
  assert.equal(onSuitableChange(base), "switch");
  assert.equal(onSuitableChange({ ...base, chosenAt: now - 5_000 }), "offer");
  assert.equal(onSuitableChange({ ...base, chosenAt: now - RECENT_CHOICE_MS }), "switch");
  assert.equal(onSuitableChange({ ...base, working: true }), "offer");
  assert.equal(onSuitableChange({ ...base, shown: "breakouts" }), "none");
  assert.equal(onSuitableChange({ ...base, suitable: null }), "none");
});

const key = (code, extra = {}) => ({
  code, altKey: true, shiftKey: true, ctrlKey: false, metaKey: false, target: { tagName: "BUTTON" }, ...extra,
});

test("Alt+Shift and a digit picks a panel, by the key's place rather than its character", () => {
  assert.deepEqual(PANELS.map((_, i) => shortcutPanel(key(`Digit${i + 1}`), false)), PANELS);
  assert.equal(shortcutPanel(key("Digit8"), false), null);
  assert.equal(shortcutPanel(key("KeyB"), false), null);
  assert.equal(shortcutPanel(key("Digit1", { shiftKey: false }), false), null); // Firefox's tab keys
  assert.equal(shortcutPanel(key("Digit1", { ctrlKey: true }), false), null);
  assert.equal(shortcutPanel(key("Digit1", { metaKey: true }), false), null);
  const typing = { tagName: "INPUT", type: "text" };
  assert.equal(shortcutPanel(key("Digit2", { target: typing }), false), "qa");
  // on a Mac, Option+Shift+digit types a character: left to the text field
  assert.equal(shortcutPanel(key("Digit2", { target: typing }), true), null);
  assert.equal(shortcutPanel(key("Digit2"), true), "qa");
});

test("text entry is where keys type", () => {
  assert.equal(isTextEntry({ tagName: "TEXTAREA" }), true);
  assert.equal(isTextEntry({ tagName: "DIV", isContentEditable: true }), true);
  assert.equal(isTextEntry({ tagName: "INPUT", type: "number" }), true);
  assert.equal(isTextEntry({ tagName: "INPUT", type: "checkbox" }), false);
  assert.equal(isTextEntry({ tagName: "BUTTON" }), false);
  assert.equal(isTextEntry(null), false);
});
