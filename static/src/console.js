// Entry point of the facilitator console: the room plus the controls that run it.
import { startRoom } from "./app.js";
import { setupBreakoutControls } from "./breakout-controls.js";
import { setupBreakouts } from "./breakouts.js";
import { setupConsoleLayout } from "./console-layout.js";
import { setupControls } from "./controls.js";
import { setupMedia } from "./media/room-media.js";
import { setupStage } from "./media/stage.js";
import { GroupVisit } from "./media/visit.js";
import { mountNote } from "./notes-loader.js"; // the editor itself loads on demand
import { setupPlenaryNotes } from "./plenary.js";
import { setupQa } from "./qa.js";
import { setupRecording } from "./recording.js";
import { setupQaControls } from "./qa-controls.js";

const room = startRoom();
setupConsoleLayout(room);
setupControls(room);
// the facilitator joins one open group's video at a time (the breakout panel's toggle)
const visit = new GroupVisit(() => media.refresh());
const media = setupMedia(room, { visit: (state) => visit.target(state, room.boot.person_id) });
setupBreakoutControls({ ...room, mountNote, video: media ? visit : null });
setupBreakouts({ ...room, mountNote });
setupQa(room);
setupRecording(room);
setupStage(room);
setupPlenaryNotes(room, mountNote);
setupQaControls(room);
