// Entry point of the facilitator console: the room plus the controls that run it.
import { startRoom } from "./app.js";
import { setupBreakoutControls } from "./breakout-controls.js";
import { setupBreakouts } from "./breakouts.js";
import { setupControls } from "./controls.js";
import { setupStage } from "./media/stage.js";
import { mountNote } from "./notes.js";
import { setupPlenaryNotes } from "./plenary.js";
import { setupQa } from "./qa.js";
import { setupQaControls } from "./qa-controls.js";

const room = startRoom();
setupControls(room);
setupBreakoutControls({ ...room, mountNote });
setupBreakouts({ ...room, mountNote });
setupQa(room);
setupStage(room);
setupPlenaryNotes(room, mountNote);
setupQaControls(room);
