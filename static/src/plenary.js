// The gathering's plenary notes, and (in the console) the facilitators' private notes:
// one shared editor each, mounted once into its section of the page. When the gathering
// ends or its notes are reopened, the editors ask the server again whether they may write.
import { byId } from "./dom.js";

const NOTES = [["plenary-notes", "plenary"], ["facilitator-notes", "facilitators"]];

export function setupPlenaryNotes({ boot, client, session, listeners }, mountNote) {
  const userName = () => (session.state && session.state.you ? session.state.you.name : "");
  const handles = [];
  for (const [sectionId, note] of NOTES) {
    const section = byId(sectionId);
    if (section) {
      handles.push(mountNote(client.socket,
        { gathering: boot.gathering, note, element: section, userName: userName() }));
    }
  }
  listeners.push((state, previous) => {
    if (!previous) return;
    if (state.phase !== previous.phase || state.notes_reopened !== previous.notes_reopened) {
      for (const handle of handles) handle.refresh();
    }
  });
}
