// One gathering's live view kept in step with the server by version: an event whose
// version is last+1 is applied, one at or below last is ignored, a gap asks room.sync.
// (Re)joining on every connect enters the socket.io room again and gives a snapshot.
// When the server's bus comes back after an outage (`bus` "up") we may have missed
// events without seeing a gap yet: room.sync.

import { clockOffset } from "./clock.js";
import { applyPresence, fromSnapshot, reduce } from "./reducer.js";

export class RoomSession {
  constructor(client, { onChange = () => {}, onError = () => {} } = {}) {
    this.client = client;
    this.onChange = onChange;
    this.onError = onError;
    this.state = null;
    this.offset = 0; // server clock minus local clock, in seconds
    this.catchingUp = false;
    this.again = false; // asked to catch up while one was on its way (it may be too old)
    this.heldEvents = [];
    this.heldPresence = [];
    client.on("event", (event) => this.receive(event));
    client.on("presence", (message) => this.receivePresence(message));
    client.on("bus", (state) => { if (state === "up") this.sync(); });
  }

  receive(event) {
    if (this.catchingUp || this.state === null) {
      this.heldEvents.push(event);
      return;
    }
    if (event.version <= this.state.version) return;
    if (event.version === this.state.version + 1) {
      this.update(reduce(this.state, event));
      return;
    }
    this.heldEvents.push(event); // a gap: fetch what we missed, then apply this
    this.sync();
  }

  receivePresence(message) {
    if (this.catchingUp || this.state === null) this.heldPresence.push(message);
    else this.update(applyPresence(this.state, message));
  }

  join() {
    return this.catchUp("room.join", {});
  }

  sync() {
    if (this.state === null) return this.join();
    return this.catchUp("room.sync", { since: this.state.version });
  }

  async catchUp(type, fields) {
    if (this.catchingUp) { // the one in flight will apply what we hold, then we ask again
      this.again = true;
      return null;
    }
    this.catchingUp = true;
    const sentAt = Date.now();
    const answer = await this.client.send(type, fields, { resend: false });
    const receivedAt = Date.now();
    this.catchingUp = false;
    const again = this.again;
    this.again = false;
    if (!answer.ok) { // a dropped connection joins afresh when it is back
      if (answer.error.code !== "disconnected") this.onError(answer.error);
      return answer;
    }
    const body = answer.snapshot || answer;
    if (typeof body.server_now === "number") {
      this.offset = clockOffset(body.server_now, sentAt, receivedAt);
    }
    let state = answer.snapshot ? fromSnapshot(answer.snapshot) : this.state;
    for (const event of answer.events || []) {
      if (event.version === state.version + 1) state = reduce(state, event);
    }
    this.update(state);
    this.release();
    if (again && !this.catchingUp) this.sync();
    return answer;
  }

  release() {
    const events = this.heldEvents.sort((a, b) => a.version - b.version);
    const presence = this.heldPresence;
    this.heldEvents = [];
    this.heldPresence = [];
    for (const message of presence) this.receivePresence(message);
    for (const event of events) this.receive(event);
  }

  update(state) {
    const previous = this.state;
    this.state = state;
    this.onChange(state, previous);
  }
}
