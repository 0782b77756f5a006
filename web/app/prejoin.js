// prejoin.js: the screen before entering a call. It makes the user a member
// of the room (REST join, asking for a PIN when one is needed), shows the
// camera preview with device and resolution choice, microphone and camera
// on/off for joining, the display name, and for viewers a view-only note.
import { h, setChildren } from './ui.js';
import { icon } from './icons.js';
import { LocalMedia, RESOLUTIONS, mediaErrorText, resolutionForHeight } from './local-media.js';

const PIN_ERRORS = {
  BADPIN: 'Wrong PIN for this room.',
  LOCKED: 'This room is locked: nobody new may join.',
  RATELIMIT: 'Too many wrong PINs: try again later.',
};

// Resolves with {room, pin, name, micOn, camOn} once the user pressed Join
// (`media` then holds the open camera/microphone to publish), or null when
// they cancelled (or `signal` aborted). `restJoin(pin)` makes the REST join
// and resolves with the room object (role and permissions included) or
// throws an error with `code`; `saveName(name)` stores a changed name.
// `auto` ({camera, mic}: a 1-1 call answered elsewhere) skips the form:
// the devices asked for open and the call is joined at once.
export async function prejoin(container, { session, pin, media, restJoin, saveName, signal, auto = null }) {
  const root = h('section', { class: 'prejoin', 'aria-label': 'Join the call' });
  setChildren(container, root);

  let room = null;
  let error = null;
  try {
    room = await restJoin(pin);
  } catch (e) {
    error = e;
  }
  while (!room) {
    if (error?.code === 'REMOVED') {
      await message(root, 'You were removed from this room',
        'A moderator removed you from this room. You can join again once a moderator lets you back in.', signal);
      return null;
    }
    if (error?.code === 'NOTFOUND' || !(error?.code in PIN_ERRORS || error?.code === 'BADREQUEST')) {
      await message(root, 'Cannot join', error?.code === 'NOTFOUND' ? 'There is no such room.' :
        `Cannot join this room: ${error?.message || error}`, signal);
      return null;
    }
    const entered = await askPin(root, error, pin, signal);
    if (entered === null) return null;
    pin = entered;
    try {
      room = await restJoin(pin);
      error = null;
    } catch (e) {
      error = e;
    }
  }
  const canPublish = (room.permissions || []).includes('publish');
  media.resolution = resolutionForHeight(room.height || 360); // the room's preset, at first
  if (signal?.aborted) return null;
  if (auto) return quick(root, { session, room, pin, media, canPublish, auto, signal });
  return form(root, { session, room, pin, media, canPublish, saveName, signal });
}

function message(root, title, text, signal) {
  return new Promise((resolve) => {
    signal?.addEventListener('abort', () => resolve(), { once: true });
    const close = h('button', { class: 'primary', type: 'button', onclick: () => resolve() }, 'Close');
    setChildren(root, h('div', { class: 'card prejoin-card' }, h('h1', {}, title), h('p', { role: 'alert' }, text),
      h('div', { class: 'row' }, close)));
    close.focus();
  });
}

function askPin(root, error, pin, signal) {
  return new Promise((resolve) => {
    signal?.addEventListener('abort', () => resolve(null), { once: true });
    const needs = error?.code === 'BADREQUEST' ? 'This room needs a PIN.' : PIN_ERRORS[error?.code] || error?.message;
    const input = h('input', {
      id: 'prejoin-pin', inputmode: 'numeric', autocomplete: 'off', value: pin || '',
      'aria-describedby': 'prejoin-pin-msg',
    });
    const submit = (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v) resolve(v);
    };
    setChildren(root, h('form', { class: 'card prejoin-card', onsubmit: submit },
      h('h1', {}, 'Enter the room PIN'),
      h('p', { id: 'prejoin-pin-msg', class: error?.code === 'BADREQUEST' ? 'dim' : 'error-text', role: 'alert' }, needs),
      h('div', { class: 'field' }, h('label', { for: 'prejoin-pin' }, 'PIN'), input),
      h('div', { class: 'row' },
        h('button', { class: 'primary', type: 'submit' }, 'Continue'),
        h('button', { type: 'button', onclick: () => resolve(null) }, 'Cancel'))));
    input.focus();
  });
}

async function quick(root, { session, room, pin, media, canPublish, auto, signal }) {
  setChildren(root, h('div', { class: 'card prejoin-card' },
    h('h1', {}, room.name || 'Call'), h('p', { class: 'dim', role: 'status' }, 'Joining the call…')));
  if (canPublish) await media.open({ camera: !!auto.camera, mic: auto.mic !== false });
  if (signal?.aborted) {
    media.stopAll();
    return null;
  }
  return { room, pin, name: session.user?.name || '', micOn: !!media.mic, camOn: !!media.camera };
}

function form(root, { session, room, pin, media, canPublish, saveName, signal }) {
  return new Promise((resolve) => {
    let micOn = canPublish;
    let camOn = canPublish;
    let meter = null;
    const video = h('video', { autoplay: true, muted: true, playsInline: true, class: 'mirror', 'aria-label': 'Your camera preview' });
    const off = h('div', { class: 'preview-off' }, 'Camera is off');
    const status = h('p', { class: 'dim prejoin-status', role: 'status' });
    const level = h('div', { class: 'meter', role: 'presentation' }, h('div', { class: 'meter-bar' }));
    const micBtn = h('button', { type: 'button', class: 'icon round', onclick: () => toggleMic() });
    const camBtn = h('button', { type: 'button', class: 'icon round', onclick: () => toggleCam() });
    const nameInput = h('input', { id: 'prejoin-name', value: session.user?.name || '', maxlength: 128, autocomplete: 'name', required: true });
    const camSel = h('select', { id: 'prejoin-camera', onchange: () => switchCamera() });
    const micSel = h('select', { id: 'prejoin-mic', onchange: () => switchMic() });
    const spkSel = h('select', { id: 'prejoin-speaker', onchange: () => { media.speakerId = spkSel.value; } });
    const resSel = h('select', { id: 'prejoin-resolution', onchange: () => switchResolution() },
      RESOLUTIONS.map((r) => h('option', { value: r.id, selected: r.id === media.resolution }, r.label)));
    const joinBtn = h('button', { class: 'primary', type: 'submit' }, 'Join');
    const nameError = h('p', { class: 'error-text', role: 'alert' });

    const paint = () => {
      micBtn.replaceChildren(icon(micOn ? 'mic' : 'micOff'));
      const micLabel = micOn ? 'Join with microphone off' : 'Join with microphone on';
      micBtn.setAttribute('aria-label', micLabel);
      micBtn.title = micLabel;
      micBtn.setAttribute('aria-pressed', String(!micOn));
      micBtn.classList.toggle('off', !micOn);
      camBtn.replaceChildren(icon(camOn ? 'cam' : 'camOff'));
      const camLabel = camOn ? 'Join with camera off' : 'Join with camera on';
      camBtn.setAttribute('aria-label', camLabel);
      camBtn.title = camLabel;
      camBtn.setAttribute('aria-pressed', String(!camOn));
      camBtn.classList.toggle('off', !camOn);
      const showing = camOn && media.camera;
      video.srcObject = showing ? new MediaStream([media.camera]) : null;
      off.hidden = !!showing;
      off.textContent = camOn ? 'No camera' : 'Camera is off';
      level.hidden = !(micOn && media.mic);
    };

    const fillDevices = async () => {
      let d;
      try {
        d = await media.devices();
      } catch {
        return;
      }
      const fill = (sel, list, current, what) => {
        sel.replaceChildren(...list.map((dev, i) => h('option', { value: dev.deviceId, selected: dev.deviceId === current },
          dev.label || `${what} ${i + 1}`)));
        sel.disabled = list.length === 0;
        if (!list.length) sel.append(h('option', { value: '' }, `No ${what.toLowerCase()}`));
      };
      fill(camSel, d.cameras, media.cameraId, 'Camera');
      fill(micSel, d.mics, media.micId, 'Microphone');
      fill(spkSel, d.speakers, media.speakerId, 'Speaker');
    };

    const startMeter = () => {
      meter?.stop();
      meter = media.mic ? levelMeter(media.mic, level.firstChild) : null;
    };

    const toggleMic = async () => {
      micOn = !micOn;
      if (micOn && !media.mic) {
        try {
          await media.openMic();
          startMeter();
        } catch (e) {
          micOn = false;
          status.textContent = `Microphone: ${mediaErrorText(e)}`;
        }
      }
      paint();
    };
    const toggleCam = async () => {
      camOn = !camOn;
      if (camOn && !media.camera) {
        try {
          await media.openCamera();
        } catch (e) {
          camOn = false;
          status.textContent = `Camera: ${mediaErrorText(e)}`;
        }
      } else if (!camOn) {
        media.stopCamera(); // the camera light goes off
      }
      paint();
      fillDevices();
    };
    const switchCamera = async () => {
      media.cameraId = camSel.value;
      if (!camOn) return;
      try {
        await media.openCamera(camSel.value);
      } catch (e) {
        status.textContent = `Camera: ${mediaErrorText(e)}`;
      }
      paint();
    };
    const switchMic = async () => {
      media.micId = micSel.value;
      try {
        await media.openMic(micSel.value);
        startMeter();
      } catch (e) {
        status.textContent = `Microphone: ${mediaErrorText(e)}`;
      }
      paint();
    };
    const switchResolution = async () => {
      try {
        await media.setResolution(resSel.value);
      } catch (e) {
        status.textContent = `Camera: ${mediaErrorText(e)}`;
      }
      paint();
    };

    let done = false;
    let joined = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      meter?.stop();
      if (!value) media.stopAll();
      resolve(value);
    };
    signal?.addEventListener('abort', () => finish(null), { once: true });
    let opening = Promise.resolve();
    const submit = async (e) => {
      e.preventDefault();
      await opening; // a Join pressed while the devices open uses them
      const name = nameInput.value.trim();
      if (!name) {
        nameError.textContent = 'Enter the name the others will see.';
        nameInput.focus();
        return;
      }
      joinBtn.disabled = true;
      if (name !== (session.user?.name || '')) {
        try {
          await saveName(name);
        } catch (err) {
          nameError.textContent = `Could not save your name: ${err.message}`;
          joinBtn.disabled = false;
          return;
        }
      }
      if (!micOn) media.stopMic();
      if (!camOn) media.stopCamera();
      joined = true;
      finish({ room, pin, name, micOn: micOn && !!media.mic, camOn: camOn && !!media.camera });
    };

    const who = canPublish ? 'You will join as a participant.' : '';
    setChildren(root, h('form', { class: 'card prejoin-card', onsubmit: submit, 'aria-labelledby': 'prejoin-title' },
      h('h1', { id: 'prejoin-title' }, room.name || 'Call'),
      h('p', { class: 'dim' }, who),
      !canPublish && h('p', { class: 'note viewer-note', role: 'note' },
        'View only: you joined with the viewer PIN. You will see and hear the others, and chat, but not send ' +
        'your camera, microphone or screen unless a moderator allows you to.'),
      h('div', { class: 'prejoin-main' },
        canPublish && h('div', { class: 'preview' }, video, off,
          h('div', { class: 'preview-buttons' }, micBtn, camBtn), level),
        h('div', { class: 'prejoin-form' },
          h('div', { class: 'field' }, h('label', { for: 'prejoin-name' }, 'Your name'), nameInput, nameError),
          canPublish && h('div', { class: 'field' }, h('label', { for: 'prejoin-camera' }, 'Camera'), camSel),
          canPublish && h('div', { class: 'field' }, h('label', { for: 'prejoin-mic' }, 'Microphone'), micSel),
          LocalMedia.canChooseSpeaker && h('div', { class: 'field' }, h('label', { for: 'prejoin-speaker' }, 'Speaker'), spkSel),
          canPublish && h('div', { class: 'field' }, h('label', { for: 'prejoin-resolution' }, 'Video quality'), resSel),
          status,
          h('div', { class: 'row' }, joinBtn,
            h('button', { type: 'button', onclick: () => finish(null) }, 'Cancel')))),
    ));
    paint();
    joinBtn.focus();
    opening = (async () => {
      if (canPublish) {
        status.textContent = 'Starting camera and microphone…';
        const { errors } = await media.open({ camera: true, mic: true });
        const problems = Object.entries(errors).map(([what, text]) => `${what === 'camera' ? 'Camera' : 'Microphone'}: ${text}`);
        status.textContent = problems.join('. ');
        if (done && !joined) {
          media.stopAll(); // cancelled while the devices opened
          return;
        }
        if (errors.camera) camOn = false;
        if (errors.mic) micOn = false;
        startMeter();
        paint();
      }
      fillDevices();
    })();
  });
}

// A microphone level bar (WebAudio analyser): scales `bar` 0..1.
function levelMeter(track, bar) {
  let ctx;
  try {
    ctx = new AudioContext();
  } catch {
    return null;
  }
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
    bar.style.transform = `scaleX(${Math.min(1, peak / 64)})`;
    requestAnimationFrame(tick);
  };
  tick();
  return {
    stop() {
      stopped = true;
      ctx.close().catch(() => {});
    },
  };
}
