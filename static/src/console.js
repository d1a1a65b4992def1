// Entry point of the facilitator console: the room plus the controls that run it.
import { startRoom } from "./app.js";
import { setupControls } from "./controls.js";

setupControls(startRoom());
