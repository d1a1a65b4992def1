// Entry point of the participant's room page.
import { startRoom } from "./app.js";

startRoom();
