// The camera and microphone selects of a media panel (breakout mesh and stage alike):
// one option per device, the device in use selected, disabled when there is no choice.
import { el } from "../dom.js";
import { gettext } from "../i18n.js";
import { deviceOptions } from "./local-media.js";

function fill(select, options, track) {
  if (!select) return;
  const current = track && track.getSettings ? track.getSettings().deviceId : null;
  select.replaceChildren(...options.map((o) => {
    const option = el("option", { value: o.id }, o.label);
    option.selected = o.id === current;
    return option;
  }));
  select.disabled = options.length < 2;
}

export async function renderDeviceSelects(local, cameraSelect, micSelect) {
  const devices = await local.devices();
  fill(cameraSelect, deviceOptions(devices, "videoinput", gettext("Camera")), local.track("video"));
  fill(micSelect, deviceOptions(devices, "audioinput", gettext("Microphone")), local.track("audio"));
}
