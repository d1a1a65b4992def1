// The plenary stage in the browser. In plenary (room live, not in a breakout group) every
// page listens: the server offers one RTCPeerConnection with a sendonly m-line per track on
// stage (`stage.listen`), names whose track each mid carries, and this page answers it
// (`stage.answer`); nobody on stage, no offer and no connection. This is the same with both
// of the server's media engines (aiortc, or Janus, whose VideoRoom takes offers from
// publishers only). When the publishers change (a pushed `stage` message) the listener
// connection is replaced by a fresh one (a new offer), which is simpler than renegotiating
// and costs a second or so. Whoever may publish (a runner, the expert in the spotlight, the
// person with the floor: stage-state.js) sends their camera and microphone on a second,
// sendonly connection, offered by this page, capped at MAX_BITRATE. Neither side trickles:
// each offer or answer goes out once ICE gathering is complete (or after ICE_WAIT_MS) with
// all its candidates.
//
// Screen sharing (runners and the spotlighted expert) replaces the camera track on the
// video sender (`replaceTrack`: no renegotiation, the listeners' m-lines stay the same, the
// bitrate cap stays); stopping the share, or the browser's own "stop sharing", puts the
// camera back.

import { byId, setText } from "../dom.js";
import { format, gettext } from "../i18n.js";
import { renderDeviceSelects } from "./device-select.js";
import { LocalMedia, STAGE_VIDEO_CONSTRAINTS } from "./local-media.js";
import { SocketTransport } from "./mesh.js";
import { bindRemoteState } from "./remote-state.js";
import { SpeakingMeter } from "./speaking.js";
import { isShaky, watchLink } from "./stage-link.js";
import {
  capped, diffPublishers, inPlenary, mayShareScreen, publishReason, readListen, readPublishers, tracksByPerson,
} from "./stage-state.js";
import { bindMediaButtons, LOCAL, Tiles } from "./tiles.js";

const ICE_WAIT_MS = 2000;
const RETRY_MS = 3000;
const RELISTEN_DEBOUNCE_MS = 150;

// Resolves when ICE gathering is complete, or after `ms`, whichever comes first.
export function iceGathered(pc, ms = ICE_WAIT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// An offer, or the answer to the remote offer, with every local candidate in it.
async function fullDescription(pc, type) {
  await pc.setLocalDescription(await (type === "offer" ? pc.createOffer() : pc.createAnswer()));
  await iceGathered(pc);
  return { type, sdp: pc.localDescription.sdp };
}

// The stage's bitrate caps on the publisher's senders (a failure leaves the sender uncapped:
// the server caps the room too).
async function capSenders(pc) {
  for (const sender of pc.getSenders()) {
    if (!sender.track) continue;
    try {
      await sender.setParameters(capped(sender.getParameters(), sender.track.kind));
    } catch (error) {
      console.warn("stage: no bitrate cap", sender.track.kind, error);
    }
  }
}

export function setupStage({ client, session, boot, listeners, announce = () => {} }) {
  const ui = {
    box: byId("stage-video-box"), status: byId("stage-video-status"), tiles: byId("stage-video-tiles"),
    empty: byId("stage-video-empty"), publish: byId("stage-video-publish"), mute: byId("stage-video-mute"),
    camera: byId("stage-video-camera"), screen: byId("stage-video-screen"), sound: byId("stage-video-sound"),
    devices: byId("stage-video-devices"), micDevices: byId("stage-video-mic-devices"),
    cameraSelect: byId("stage-video-camera-select"), micSelect: byId("stage-video-mic-select"),
  };
  if (!ui.box || !globalThis.RTCPeerConnection) return null;

  const transport = new SocketTransport(client.socket, boot.gathering);
  const local = new LocalMedia({ camera: STAGE_VIDEO_CONSTRAINTS });
  const meter = new SpeakingMeter();
  let publishers = [];
  let iceServers = null;
  let listenPc = null;
  let publishPc = null;
  let screenTrack = null;
  let wantListen = false;
  let wantPublish = false;
  let listening = false; // the listener connection (none when nobody is on stage) matches `publishers`
  let listenTurn = 0; // counts listener connections closed: a listen() under way sees it was overtaken
  let reason = null; // why I may publish now, or null
  let chosen = false; // I asked to be on stage (runners and experts click; the floor is automatic)
  let busy = false;
  let retry = null;
  let relisten = null;
  let recovering = false; // a connection was lost: "Reconnecting…" until all are back in line
  // Lost connections, closed by settle() between its steps: Chromium never settles a
  // pending createOffer/setRemoteDescription of a connection closed under it.
  const abandoned = [];

  const you = () => (session.state && session.state.you) || { person_id: boot.person_id };
  const me = () => String(boot.person_id);
  // who is muted or has the camera off, on the tiles; runners' "Mute <name>" buttons
  const remote = bindRemoteState({
    transport, local, announce, you, sending: () => publishPc !== null, onLocalChange: () => renderControls(),
  });
  const tiles = new Tiles({
    list: ui.tiles, attribute: "data-publisher", local, meter, remote,
    onChange: () => { ui.empty.hidden = tiles.size > 0; },
    onSoundBlocked: () => { ui.sound.hidden = false; },
  });

  // --- tiles ---------------------------------------------------------------------------------

  function showRemote(person, stream) {
    tiles.tile(person.person_id, person.name);
    tiles.play(person.person_id, stream);
  }

  // Names for everyone on stage (but me: my own tile shows my camera, not the echo).
  function renderPublisherNames() {
    const others = publishers.filter((p) => p.person_id !== me());
    for (const p of others) remote.attach(p.person_id, tiles.tile(p.person_id, p.name).item, p);
    const keep = new Set(others.map((p) => p.person_id));
    tiles.dropOthers((key) => keep.has(key));
  }

  function showLocal() {
    const name = you().name ? format(gettext("%(name)s (you)"), { name: you().name }) : gettext("You");
    const entry = tiles.tile(LOCAL, name);
    const stream = screenTrack ? new MediaStream([screenTrack]) : local.stream;
    if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
    tiles.watch(LOCAL, local.stream);
    remote.announceState(); // my tile shows once I am on stage: tell everyone my state
  }

  // --- ICE servers (the mesh's `media.ice`: TURN credentials when configured) -----------------

  async function ice() {
    if (iceServers) return iceServers;
    const answer = await transport.ice();
    iceServers = answer && answer.ok && Array.isArray(answer.ice_servers) ? answer.ice_servers : [];
    // TURN credentials expire: fetch again for the next connection after their time is up
    const ttl = answer && typeof answer.ice_ttl === "number" ? answer.ice_ttl : null;
    if (ttl) setTimeout(() => { iceServers = null; }, Math.max(5, ttl * 0.75) * 1000);
    return iceServers;
  }

  // --- listening -----------------------------------------------------------------------------

  function closeListener() {
    listenTurn += 1;
    if (!listenPc) return;
    listenPc.close();
    listenPc = null;
  }

  // Ask the server for its offer and answer it. True when done or overtaken (the listener
  // was closed or replaced meanwhile: settle() goes on from there), false to try again.
  async function listen() {
    closeListener();
    const turn = listenTurn;
    const servers = await ice();
    const answer = await transport.request("stage.listen");
    if (turn !== listenTurn) return true;
    const heard = readListen(answer);
    if (!heard) {
      console.warn("stage.listen refused:", answer && answer.error && answer.error.code);
      return false;
    }
    publishers = heard.publishers;
    renderPublisherNames();
    if (!heard.offer) return true; // nobody on stage: names only, listen again when someone comes
    const pc = new RTCPeerConnection({ iceServers: servers });
    listenPc = pc;
    watch(pc);
    await pc.setRemoteDescription(heard.offer);
    if (listenPc !== pc) return true; // lost meanwhile
    const description = await fullDescription(pc, "answer");
    if (listenPc !== pc) return true;
    const reply = await transport.request("stage.answer", { description });
    if (listenPc !== pc) return true;
    if (!reply || !reply.ok) { // rejected: the server's offer is no longer pending
      closeListener();
      console.warn("stage.answer refused:", reply && reply.error && reply.error.code);
      return false;
    }
    const streams = tracksByPerson(heard.tracks, pc.getTransceivers(), me());
    for (const p of publishers) {
      if (streams.has(p.person_id)) showRemote(p, new MediaStream(streams.get(p.person_id)));
    }
    return true;
  }

  async function stopListening() {
    closeListener();
    tiles.dropOthers(() => false);
    await transport.request("stage.leave");
  }

  // --- publishing ----------------------------------------------------------------------------

  function videoSender() {
    return publishPc ? publishPc.getSenders().find((s) => s.track && s.track.kind === "video") || null : null;
  }

  async function publish() {
    if (!recovering) setText(ui.status, gettext("Starting your camera and microphone…"));
    await local.start();
    if (!local.track("video") && !local.track("audio")) {
      setText(ui.status, gettext("No camera or microphone: you can watch and listen."));
      return false;
    }
    const pc = new RTCPeerConnection({ iceServers: await ice() });
    publishPc = pc;
    watch(pc);
    for (const track of local.stream.getTracks()) {
      // back after a lost connection while sharing the screen: keep sharing it
      const send = track.kind === "video" && screenTrack ? screenTrack : track;
      pc.addTransceiver(send, { direction: "sendonly", streams: [local.stream] });
    }
    const offer = await fullDescription(pc, "offer");
    const answer = await transport.request("stage.publish", { description: offer });
    if (publishPc !== pc) return true;
    if (!answer || !answer.ok || !answer.description) {
      closePublisher();
      setText(ui.status, gettext("Could not put you on stage. Trying again…"));
      return false;
    }
    await pc.setRemoteDescription(answer.description);
    if (publishPc !== pc) return true; // lost meanwhile
    await capSenders(pc);
    if (publishPc !== pc) return true;
    setText(ui.status, recovering ? lostText() : "");
    showLocal();
    renderControls();
    renderDevices();
    if (!recovering) announce(gettext("You are on stage: everyone in plenary sees and hears you."));
    return true;
  }

  function closePublisher() {
    if (publishPc) publishPc.close();
    publishPc = null;
  }

  async function unpublish() {
    const had = publishPc !== null;
    closePublisher();
    stopScreen(false);
    local.stop();
    tiles.drop(LOCAL);
    renderControls();
    // stage.unpublish: off stage, still listening (the server announces the new publishers)
    if (had) {
      await transport.request("stage.unpublish");
      announce(gettext("You are no longer on stage."));
    }
  }

  // --- screen sharing ------------------------------------------------------------------------

  async function startScreen() {
    let display;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      return;
    }
    const track = display.getVideoTracks()[0];
    const sender = videoSender();
    if (!track || !sender) {
      for (const t of display.getTracks()) t.stop();
      return;
    }
    screenTrack = track;
    track.addEventListener("ended", () => stopScreen(true));
    await sender.replaceTrack(track);
    showLocal();
    renderControls();
    announce(gettext("You are sharing your screen."));
  }

  function stopScreen(backToCamera) {
    if (!screenTrack) return;
    screenTrack.stop();
    screenTrack = null;
    const sender = videoSender();
    if (backToCamera && sender) sender.replaceTrack(local.track("video")).catch(() => {});
    if (backToCamera) {
      showLocal();
      announce(gettext("You stopped sharing your screen."));
    }
    renderControls();
  }

  // --- controls ------------------------------------------------------------------------------

  function renderControls() {
    const on = publishPc !== null;
    ui.publish.hidden = reason === null || reason === "floor";
    // the label says what a click does now (a toggle whose name changes has no aria-pressed)
    setText(ui.publish, chosen ? gettext("Leave the stage")
      : gettext("Go on stage with camera and microphone"));
    ui.mute.hidden = !on;
    ui.camera.hidden = !on;
    ui.devices.hidden = !on;
    ui.micDevices.hidden = !on;
    ui.screen.hidden = !on || !mayShareScreen(reason) || !navigator.mediaDevices?.getDisplayMedia;
    ui.mute.setAttribute("aria-pressed", String(local.muted));
    ui.camera.setAttribute("aria-pressed", String(local.cameraOff));
    ui.screen.setAttribute("aria-pressed", String(screenTrack !== null));
    ui.mute.disabled = !local.track("audio");
    ui.camera.disabled = !local.track("video");
    tiles.get(LOCAL)?.item.classList.toggle("is-camera-off", local.cameraOff && !screenTrack);
    tiles.showSpeaking(LOCAL);
  }

  function renderDevices() {
    return renderDeviceSelects(local, ui.cameraSelect, ui.micSelect);
  }

  async function chooseDevice(kind, select) {
    if (!select.value) return;
    try {
      const track = await local.useDevice(kind, select.value);
      const sender = publishPc?.getSenders().find((s) => s.track && s.track.kind === kind);
      if (sender && !(kind === "video" && screenTrack)) await sender.replaceTrack(track);
      if (kind === "audio") tiles.watch(LOCAL, local.stream);
      if (kind === "video") showLocal();
      setText(ui.status, "");
    } catch {
      setText(ui.status, gettext("That device could not be started."));
    }
    renderControls();
  }

  ui.publish.addEventListener("click", () => {
    chosen = !chosen;
    renderControls();
    update();
  });
  bindMediaButtons(ui, { tiles, remote, render: renderControls, announce });
  ui.screen.addEventListener("click", () => (screenTrack ? stopScreen(true) : startScreen()));
  ui.cameraSelect.addEventListener("change", () => chooseDevice("video", ui.cameraSelect));
  ui.micSelect.addEventListener("change", () => chooseDevice("audio", ui.micSelect));

  // --- recovery: the server's peer went away (its worker stopped, it dropped the stage) -----

  const lostText = () => gettext("The stage connection was lost. Reconnecting…");

  function watch(pc) {
    watchLink(pc, () => linkLost(pc));
    pc.addEventListener("connectionstatechange", recovered); // a shaky link came back
  }

  // Drop a connection the server no longer serves; settle() listens (and publishes) again.
  function linkLost(pc) {
    if (!pc) return;
    if (pc === listenPc && wantListen) {
      listenPc = null;
      listening = false;
    } else if (pc === publishPc && wantPublish) {
      publishPc = null;
    } else return; // replaced, closed by us, or no longer wanted: settle() takes care of it
    abandoned.push(pc);
    if (!recovering) {
      recovering = true;
      setText(ui.status, lostText());
      announce(lostText());
    }
    settle();
  }

  // The recovery is over once the connections are back in line with what is wanted and
  // none is shaky (a crashed server loses both of a publisher's links, noticed apart).
  function recovered() {
    const inLine = listening === wantListen && (publishPc !== null) === wantPublish;
    if (!recovering || busy || !inLine || [listenPc, publishPc].some(isShaky)) return;
    recovering = false;
    setText(ui.status, "");
    if (wantListen) announce(gettext("Reconnected to the stage."));
  }

  // --- bringing the connections in line with what is wanted, one step at a time -------------

  async function settle() {
    if (busy) return;
    busy = true;
    clearTimeout(retry);
    try {
      for (;;) {
        for (const pc of abandoned.splice(0)) pc.close();
        const publishing = publishPc !== null;
        // off stage: also after a lost link left no connection to close (the camera is on)
        if (!wantPublish && (publishing || local.stream)) await unpublish();
        else if (!wantListen && (listenPc || listening)) {
          await stopListening();
          listening = false;
        } else if (wantPublish && !publishing) {
          if (!(await publish())) throw new Error("publish");
        } else if (wantListen && !listening) {
          listening = true;
          if (!(await listen())) {
            listening = false;
            throw new Error("listen");
          }
        } else break;
      }
    } catch (error) {
      if (error.message !== "publish" && error.message !== "listen") console.warn("stage", error);
      retry = setTimeout(settle, RETRY_MS);
    } finally {
      busy = false;
      ui.box.hidden = !wantListen;
      renderControls();
      recovered();
    }
  }

  function update() {
    const state = session.state;
    const live = client.connected && inPlenary(state, boot.person_id);
    const before = reason;
    reason = live ? publishReason(state, you()) : null;
    if (reason === "floor" && before !== "floor") chosen = true; // given the floor: on stage
    if (reason === null) chosen = false;
    wantListen = live;
    wantPublish = live && reason !== null && chosen;
    renderControls();
    settle();
  }

  transport.on("stage", (message) => {
    if (message.type === "closed") { // the server dropped the stage: every peer is gone
      linkLost(publishPc);
      linkLost(listenPc);
      return;
    }
    if (message.type !== "publishers") return;
    const next = readPublishers(message.publishers);
    const { changed } = diffPublishers(publishers, next);
    publishers = next;
    renderPublisherNames();
    if (!changed) return;
    clearTimeout(relisten);
    relisten = setTimeout(() => {
      listening = false; // a fresh listener connection for the new set of publishers
      settle();
    }, RELISTEN_DEBOUNCE_MS);
  });

  // a new socket after a reconnect: the server forgot this connection's stage
  client.on("connect", () => {
    closeListener();
    closePublisher();
    stopScreen(false);
    listening = false;
  });
  client.on("disconnect", () => update());
  listeners.push(() => update());

  const api = {
    links: () => [listenPc, publishPc].filter(Boolean),
    listener: () => listenPc,
    publisher: () => publishPc,
    publishers: () => publishers,
    local,
  };
  globalThis.forumStage = api;
  return api;
}
