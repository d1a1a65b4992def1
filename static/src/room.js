// Entry point of the participant's room page.
import { startRoom } from "./app.js";
import { setupBreakouts } from "./breakouts.js";
import { setupFollowUps } from "./follow-ups.js";
import { setupMedia } from "./media/room-media.js";
import { setupStage } from "./media/stage.js";
import { mountNote } from "./notes-loader.js"; // the editor itself loads on demand
import { setupPlenaryNotes } from "./plenary.js";
import { setupQa } from "./qa.js";
import { setupRecording } from "./recording.js";

const room = startRoom();
setupBreakouts({ ...room, mountNote });
setupMedia(room);
setupStage(room);
setupQa(room);
setupRecording(room);
setupPlenaryNotes(room, mountNote);
setupFollowUps(room);
