// The facilitator's visit to one breakout group's video from the console: which group (at
// most one at a time) and whether it can be visited now. No DOM: tested with node --test.

import { groupIdOf, meshKeyFor } from "./negotiation.js";

// Pressing a group's toggle: into that group's video, or out when it was the one visited.
export function toggleVisit(current, groupId) {
  return current === groupId ? null : groupId;
}

// The group whose video a runner is in now: the chosen one while it is open, unless they
// are a member of a group themselves (then their own group's video is in the room page).
export function visitedGroup(state, chosen, personId) {
  if (meshKeyFor(state, chosen) === null || groupIdOf(state, personId) !== null) return null;
  return chosen;
}

export function groupName(state, groupId) {
  const b = state && state.breakouts;
  const group = b ? b.groups.find((g) => g.id === groupId) : null;
  return group ? group.name : "";
}

// The console's choice; `onChange` brings the media in line (setupMedia's refresh).
export class GroupVisit {
  constructor(onChange = () => {}) {
    this.group = null;
    this.onChange = onChange;
  }

  toggle(groupId) {
    this.group = toggleVisit(this.group, groupId);
    this.onChange();
    return this.group;
  }

  clear() {
    if (this.group === null) return;
    this.group = null;
    this.onChange();
  }

  target(state, personId) {
    return visitedGroup(state, this.group, personId);
  }
}
