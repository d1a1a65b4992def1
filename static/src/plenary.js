// The gathering's plenary notes, and (in the console) the facilitators' private notes:
// one shared editor each, mounted once into its section of the page.
import { byId } from "./dom.js";

const NOTES = [["plenary-notes", "plenary"], ["facilitator-notes", "facilitators"]];

export function setupPlenaryNotes({ boot, client, session }, mountNote) {
  const userName = () => (session.state && session.state.you ? session.state.you.name : "");
  for (const [sectionId, note] of NOTES) {
    const section = byId(sectionId);
    if (section) mountNote(client.socket, { gathering: boot.gathering, note, element: section, userName: userName() });
  }
}
