// conference.js: the call. openRoom(container, {session, roomId, pin})
// runs the pre-join screen (prejoin.js), then the conference: the tile
// stage (tiles.js), the control bar, the participant list with moderation,
// the chat side panel, invite, statistics and settings. It resolves with
// {reason} once the user has left ('left', 'cancelled', 'removed', ...).
//
// session: {token, user, client, chat?, api?}: `client` is the connected
// Zumzi of zumzi.js. The call uses it, unless the user changed their name
// before joining (the server names participants after the name their
// connection opened with): then the call opens a connection of its own.
import { Api, Zumzi } from '../zumzi.js';
import { h, setChildren, toast, dialog, confirmDialog, copyText } from './ui.js';
import { icon } from './icons.js';
import { TileView } from './tiles.js';
import { prejoin } from './prejoin.js';
import { SidePanel } from './side-panel.js';
import { PeopleList } from './people.js';
import { CallStats } from './call-stats.js';
import { LiveControl } from './live-control.js';
import { Popover } from './popover.js';
import {
  LocalMedia, RESOLUTIONS, resolutionById, captureScreen, mediaErrorText,
} from './local-media.js';

// options: onjoined(room) is called with the zumzi.js Room once in the call;
// maxTiles: tiles per grid page (16); signal: an AbortSignal that ends it
// all (the call is left, devices released), for a router leaving the page;
// call: the 1-1 call (zumzi-chat.js) whose room this is: no pre-join form,
// the microphone and (for a video call) the camera go on at once.
export async function openRoom(container, { session, roomId, pin, onjoined, maxTiles = 16, signal, call = null } = {}) {
  if (!session?.token) throw new Error('openRoom: a session with a token is required');
  if (!roomId) throw new Error('openRoom: a room id is required');
  ensureStyles();
  let currentPin = pin || '';
  for (;;) {
    if (signal?.aborted) {
      container.replaceChildren();
      return { reason: 'cancelled' };
    }
    const media = new LocalMedia();
    const choice = await prejoin(container, {
      session, pin: currentPin, media, signal,
      auto: call ? { camera: call.video !== false, mic: true } : null,
      restJoin: (p) => rest(session, 'POST', `/api/v1/rooms/${encodeURIComponent(roomId)}/join`, p ? { pin: p } : {}),
      saveName: async (name) => {
        // The shell's session keeps the header and its name cache in step.
        if (typeof session.updateProfile === 'function') {
          await session.updateProfile({ name });
          return;
        }
        const user = await rest(session, 'PUT', '/api/v1/profile', { name });
        session.user = { ...(session.user || {}), ...user };
      },
    });
    if (!choice || signal?.aborted) {
      media.stopAll();
      container.replaceChildren();
      return { reason: 'cancelled' };
    }
    currentPin = choice.pin || '';
    const conf = new Call(container, { session, roomId, choice, media, onjoined, maxTiles, signal });
    const end = await conf.run();
    if (end.reason === 'left' || signal?.aborted) {
      container.replaceChildren();
      return end;
    }
    if (!(await endScreen(container, end, signal))) {
      container.replaceChildren();
      return end;
    }
  }
}

function ensureStyles() {
  const href = new URL('./conference.css', import.meta.url).href;
  if ([...document.querySelectorAll('link[rel="stylesheet"]')].some((l) => l.href === href)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

// REST with the session's token; errors carry the server's code.
async function rest(session, method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try {
    json = await res.json();
  } catch {
    // no body
  }
  if (!res.ok) {
    const e = new Error(json?.error?.message || `HTTP ${res.status}`);
    e.code = json?.error?.code || 'HTTP';
    e.status = res.status;
    throw e;
  }
  return json;
}

const END_TEXT = {
  removed: ['You were removed by a moderator', 'A moderator took you out of this call.'],
  'media timeout': ['Connection lost', 'No media reached the server for a while, so it ended your part of the call.'],
  closed: ['Disconnected', 'The connection to the server closed.'],
  error: ['Cannot join the call', ''],
};

// After a call that ended without the user leaving: says why; resolves
// true to join again.
function endScreen(container, { reason, message }, signal) {
  return new Promise((resolve) => {
    signal?.addEventListener('abort', () => resolve(false), { once: true });
    const [title, text] = END_TEXT[reason] || ['The call ended', reason];
    const close = h('button', { class: 'primary', type: 'button', onclick: () => resolve(false) }, 'Close');
    setChildren(container, h('section', { class: 'prejoin conf-ended', 'aria-label': title },
      h('div', { class: 'card prejoin-card' },
        h('h1', {}, title),
        h('p', { role: 'alert' }, message || text),
        h('div', { class: 'row' }, close,
          reason !== 'removed' && h('button', { type: 'button', onclick: () => resolve(true) }, 'Join again')))));
    close.focus();
  });
}

const isScreenLabel = (label) => /^screen(-\d+)?$/.test(label || '');
const screenNumber = (label) => Number(/^screen-(\d+)$/.exec(label || '')?.[1] || 1);

// The camera track of a participant among its tracks: labelled 'camera',
// or else its first video that is not a screen.
function cameraOf(tracks) {
  return tracks.find((t) => t.kind === 'video' && t.label === 'camera') ||
    tracks.find((t) => t.kind === 'video' && !isScreenLabel(t.label)) || null;
}

function canPublishParticipant(p) {
  if (Array.isArray(p.permissions)) return p.permissions.includes('publish');
  return p.role !== 'viewer';
}

function formatDuration(ms) {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hh ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}


class Call {
  constructor(container, { session, roomId, choice, media, onjoined, maxTiles, signal }) {
    this.signal = signal;
    this.container = container;
    this.session = session;
    this.roomId = roomId;
    this.pin = choice.pin;
    this.name = choice.name;
    this.media = media;
    this.onjoined = onjoined;
    this.maxTiles = maxTiles;
    this.choice = choice;
    this.view = 'grid';
    this.pinned = null;
    this.activeSpeaker = null;
    this.selfSpeaking = false;
    this.micOn = false;
    this.camOn = false;
    this.screens = []; // {label, track, stream}
    this.hidden = new Set(); // participant ids whose video we hide
    this.audioOnly = false;
    this.subWanted = new Map(); // track id -> subscribed (as last asked)
    this.names = new Map(); // participant id -> name (kept after they leave)
    this.removed = new Map(); // user id -> name, removed during this call
    this.audioEls = new Map(); // track id -> <audio>
    this.busy = new Map(); // what ('cam', 'mic', ...) -> a promise settled when it is done
    this.waiting = new Map(); // slot -> the latest change waiting (afterBusy)
    this.cleanups = [];
    this.joinedAt = Date.now();
    this.ended = null;
  }

  get canPublish() {
    return this.room?.permissions.includes('publish') ?? false;
  }

  get canModerate() {
    return this.room?.permissions.includes('moderate') ?? false;
  }

  async run() {
    const done = new Promise((resolve) => { this.ended = resolve; });
    try {
      const shared = this.session.client;
      // The server names participants after the name the connection opened
      // with (its `welcome`): a connection older than a rename would show
      // the old name to everyone.
      if (shared && shared.user?.name === this.name && shared.ws?.readyState === WebSocket.OPEN &&
          !shared.rooms.has(this.roomId)) {
        this.client = shared;
      } else {
        this.client = await Zumzi.connect({
          token: this.session.token,
          iceServers: shared?.iceServers || [],
          candidateFilter: shared?.candidateFilter || null,
        });
        this.ownClient = true;
      }
      this.room = await this.client.join(this.roomId, this.pin || undefined);
    } catch (e) {
      this.media.stopAll();
      if (this.ownClient) this.client?.close();
      return { reason: 'error', message: `${e.message}${e.code ? ` (${e.code})` : ''}` };
    }
    if (this.signal?.aborted) {
      this.media.stopAll();
      this.room.leave().catch(() => {});
      if (this.ownClient) this.client.close();
      return { reason: 'left' };
    }
    this.build();
    this.wire();
    const onAbort = () => this.finish('left');
    this.signal?.addEventListener('abort', onAbort);
    this.cleanups.push(() => this.signal?.removeEventListener('abort', onAbort));
    this.refresh();
    this.onjoined?.(this.room);
    this.publishInitial();
    return done;
  }

  // --- the page ---

  build() {
    const info = this.room.info || {};
    this.titleEl = h('h1', { class: 'conf-title' }, info.name || 'Call');
    this.lockEl = h('span', { class: 'conf-lock', role: 'img', 'aria-label': 'Room locked', title: 'The room is locked: nobody new may join' }, icon('lock', 16));
    this.countEl = h('span', { class: 'conf-count dim' });
    this.timerEl = h('span', { class: 'conf-timer dim', 'aria-label': 'Call duration' }, '0:00');
    this.viewerChip = h('span', { class: 'chip viewer-chip' }, 'View only');
    this.api = this.session.api || new Api({ token: this.session.token });
    this.live = new LiveControl({
      room: this.room, roomId: this.roomId,
      api: this.api,
      viewerPin: () => this.viewerPin(),
    });
    const header = h('header', { class: 'conf-header' },
      this.titleEl, this.lockEl, this.live.badges, this.viewerChip, this.countEl, h('span', { class: 'spacer' }), this.timerEl);

    this.tilesView = new TileView({
      maxTiles: this.maxTiles,
      onlayout: () => this.reconcileSubscriptions(),
      onpin: (key) => this.pin_(key),
    });
    this.alone = h('div', { class: 'stage-hint' }, 'You are the only one here. ',
      h('button', { type: 'button', class: 'link', onclick: () => this.invite() }, 'Invite people'));
    this.stage = h('main', { class: 'stage', 'aria-label': 'Participants\u2019 video' }, this.tilesView.el, this.alone);

    this.side = new SidePanel({ session: this.session, onchange: () => this.paintControls() });

    this.bar = this.buildBar();
    this.audioBox = h('div', { class: 'conf-audio', hidden: true });
    this.root = h('section', { class: 'conference', 'aria-label': `Call: ${info.name || this.roomId}` },
      header, h('div', { class: 'conf-body' }, this.stage, this.side.el), this.bar, this.audioBox);
    setChildren(this.container, this.root);

    this.peoplePanel = h('div', { class: 'people-panel' });
    this.side.add('people', 'People', { panel: this.peoplePanel });
    const perms = this.room.permissions;
    this.side.add('chat:room', 'Room chat', {
      chat: {
        conversation: `room:${this.roomId}`, title: info.name || 'Room chat',
        canSend: perms.includes('chat_send'),
        refused: perms.includes('chat_receive') ? null : 'you may not read this room\u2019s chat',
      },
    });
    this.side.select('people');
    this.peopleActions = {
      toggleHidden: (pid) => {
        if (this.hidden.has(pid)) this.hidden.delete(pid);
        else this.hidden.add(pid);
        this.refresh();
      },
      chat: (uid, name) => this.openChatWith(uid, name),
      mute: (pid, kind) => this.moderate(() => this.room.muteParticipant(pid, kind)),
      setPermissions: (uid, permissions) => this.moderate(() => this.room.setPermissions(uid, permissions)),
      remove: (uid) => this.moderate(() => this.room.removeParticipant(uid)),
      lock: (locked) => this.moderate(() => this.room.lockRoom(locked)),
      readmit: (uid) => this.moderate(async () => {
        await this.room.readmit(uid);
        this.removed.delete(uid);
        this.refresh();
      }),
    };
    this.peopleList = new PeopleList(this.peoplePanel, this.peopleActions);
  }

  buildBar() {
    const b = (name, iconName, onclick, extra = {}) => {
      const el = h('button', { type: 'button', class: `icon ctl ctl-${name}`, onclick, ...extra }, icon(iconName));
      return el;
    };
    this.micBtn = b('mic', 'mic', () => this.toggleMic(), { 'aria-keyshortcuts': 'm' });
    this.camBtn = b('cam', 'cam', () => this.toggleCam(), { 'aria-keyshortcuts': 'v' });
    this.shareBtn = b('share', 'screen', () => this.shareScreen());
    this.shareChips = h('div', { class: 'share-chips' });
    this.settingsBtn = b('settings', 'settings', () => this.settingsPop.toggle());
    this.layoutBtn = b('layout', 'speaker', () => this.setView(this.view === 'grid' ? 'speaker' : 'grid'));
    this.audioOnlyBtn = b('audio-only', 'audioOnly', () => this.toggleAudioOnly());
    this.peopleBadge = h('span', { class: 'badge count-badge' });
    this.peopleBtn = b('people', 'people', () => this.side.toggle('people'));
    this.peopleBtn.append(this.peopleBadge);
    this.chatBadge = h('span', { class: 'badge', hidden: true });
    this.chatBtn = b('chat', 'chat', () => this.side.toggle(this.chatToShow()));
    this.chatBtn.append(this.chatBadge);
    this.inviteBtn = b('invite', 'link', () => this.invite());
    this.statsBtn = b('stats', 'stats', () => this.statsPop.toggle());
    this.fullBtn = b('fullscreen', 'maximize', () => this.toggleFullscreen());
    this.leaveBtn = h('button', { type: 'button', class: 'danger ctl ctl-leave', onclick: () => this.leave() }, icon('leave'), h('span', {}, 'Leave'));
    label(this.shareBtn, 'Share your screen');
    label(this.settingsBtn, 'Settings: devices and video quality');
    label(this.inviteBtn, 'Invite people');
    label(this.statsBtn, 'Connection statistics');
    label(this.leaveBtn, 'Leave the call');
    this.settingsPop = new Popover(this.settingsBtn, 'Settings', (el) => this.buildSettings(el));
    this.statsPop = new Popover(this.statsBtn, 'Connection statistics', (el) => this.buildStats(el), () => this.stopStats());
    this.publishGroup = h('div', { class: 'bar-group' }, this.micBtn, this.camBtn, this.shareBtn, this.shareChips, this.settingsBtn);
    return h('footer', { class: 'conf-bar', role: 'toolbar', 'aria-label': 'Call controls' },
      this.publishGroup,
      h('div', { class: 'bar-group' }, this.layoutBtn, this.audioOnlyBtn, this.peopleBtn, this.chatBtn, this.inviteBtn,
        this.live.button, this.statsBtn, this.fullBtn),
      h('div', { class: 'bar-group' }, this.leaveBtn),
      this.settingsPop.el, this.statsPop.el, this.live.popover.el);
  }

  wire() {
    const on = (target, type, fn) => {
      target.addEventListener(type, fn);
      this.cleanups.push(() => target.removeEventListener(type, fn));
    };
    const r = this.room;
    on(r, 'participantjoined', (e) => {
      const p = e.detail.participant;
      this.names.set(p.participant_id, p.name);
      toast(`${p.name || 'Someone'} joined`);
      this.chime(true);
      this.refresh();
    });
    on(r, 'participantleft', (e) => {
      const { participant_id: pid, user_id: uid, reason } = e.detail;
      const name = this.names.get(pid) || 'Someone';
      if (reason === 'removed') {
        this.removed.set(uid, name);
        toast(`${name} was removed`);
      } else {
        toast(`${name} left`);
        this.chime(false);
      }
      this.hidden.delete(pid);
      if (this.activeSpeaker === pid) this.activeSpeaker = null;
      this.refresh();
    });
    on(r, 'participantupdated', (e) => this.onParticipantUpdated(e.detail));
    on(r, 'roomupdated', (e) => {
      const locked = !!e.detail.room.locked;
      if (locked !== this.wasLocked) toast(locked ? 'The room is now locked' : 'The room is unlocked');
      this.wasLocked = locked;
      this.refresh();
    });
    on(r, 'trackpublished', (e) => {
      const { info, local } = e.detail;
      if (!local && isScreenLabel(info.label))
        toast(`${this.nameOf(info.participant_id)} started sharing ${screenNumber(info.label) > 1 ? 'another screen' : 'their screen'}`);
      this.refresh();
    });
    on(r, 'trackunpublished', () => this.refresh());
    on(r, 'track', (e) => {
      const { track, stream, info } = e.detail;
      if (track.kind === 'audio') this.playAudio(info.id, stream);
      this.refresh();
    });
    on(r, 'trackremoved', (e) => {
      const id = e.detail.info?.id;
      if (id) this.stopAudio(id);
      this.refresh();
    });
    on(r, 'trackmuted', (e) => {
      const d = e.detail;
      if (d.local && d.forced) {
        // A moderator muted one of ours: the controls follow.
        const label = d.info?.label;
        const share = this.screens.find((x) => x.label === label);
        if (label === 'mic') {
          this.micOn = false;
          toast('A moderator muted your microphone');
        } else if (label === 'camera') {
          if (this.camOn) this.exclusive('cam', () => this.cameraOff(true));
          toast('A moderator turned your camera off');
        } else if (share) {
          this.stopShare(share);
          toast('A moderator stopped your screen share');
        }
      }
      this.refresh();
    });
    on(r, 'speaking', (e) => {
      const { participant_id: pid, speaking } = e.detail;
      if (pid === r.participantId) this.selfSpeaking = speaking;
      else if (speaking) this.activeSpeaker = pid;
      this.refresh();
    });
    on(r, 'connectionstate', (e) => {
      const { state, side, session } = e.detail;
      if (side === 'client' && state === 'failed') toast(`The ${session} connection failed`, 'error');
    });
    on(r, 'livestatus', (e) => this.live.onStatus(e.detail));
    on(r, 'error', (e) => console.warn('zumzi room error', e.detail.error));
    on(r, 'left', (e) => this.finish(e.detail.reason === 'left' ? 'left' : e.detail.reason));

    // Members removed before this call (or before a reload): a moderator
    // can let them back in from the list too.
    if (this.canModerate) this.loadRemoved();

    // A device the browser ended (unplugged...): its control goes off.
    this.media.onended = (kind, track) => this.deviceEnded(kind, track);
    this.cleanups.push(() => { this.media.onended = null; });
    // A 1-1 message to us from someone with no tab open: a tab for it
    // (its unread count on the chat button), so it shows in the call.
    if (this.session.chat) on(this.session.chat, 'message', (e) => this.onDirectMessage(e.detail.message));

    on(document, 'keydown', (e) => this.onKey(e));
    on(document, 'fullscreenchange', () => this.paintControls());
    this.wasLocked = !!this.room.info?.locked;
    this.timer = setInterval(() => {
      this.timerEl.textContent = formatDuration(Date.now() - this.joinedAt);
    }, 1000);
    this.cleanups.push(() => clearInterval(this.timer));
    for (const p of this.room.participants.values()) this.names.set(p.participant_id, p.name);
    // Tracks already there when we joined (the library announces them).
    for (const [id, remote] of this.room.remote)
      if (remote.track.kind === 'audio') this.playAudio(id, remote.stream);
  }

  onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement ||
        t?.isContentEditable) return;
    if (document.querySelector('dialog[open]')) return;
    const key = e.key.toLowerCase();
    if (key === 'm' && this.canPublish) {
      e.preventDefault();
      this.toggleMic();
    } else if (key === 'v' && this.canPublish) {
      e.preventDefault();
      this.toggleCam();
    }
  }

  // --- local media ---

  async publishInitial() {
    if (!this.canPublish) {
      this.media.stopAll();
      return;
    }
    const { media, room } = this;
    try {
      if (media.mic && this.choice.micOn) {
        await room.publish(media.mic, 'mic');
        this.micOn = true;
      }
      if (media.camera && this.choice.camOn) {
        await room.publish(media.camera, 'camera');
        this.camOn = true;
        await this.applyCameraParameters();
      }
    } catch (e) {
      toast(`Could not send your media: ${e.message}`, 'error');
    }
    this.refresh();
  }

  // The chosen resolution's bitrate cap, and keep that resolution when the
  // bandwidth is short (frame rate goes down instead), so that the size
  // chosen is the size sent.
  async applyCameraParameters() {
    if (!this.room.sender('camera')) return;
    const r = resolutionById(this.media.resolution);
    try {
      await this.room.setSendParameters('camera', { maxBitrate: r.maxBitrate, degradationPreference: 'maintain-resolution' });
    } catch (e) {
      console.warn('setParameters', e);
    }
  }

  // Runs fn unless something of `what` runs already (a second click on a
  // toggle while the first is under way does nothing).
  async exclusive(what, fn) {
    if (this.busy.has(what)) return;
    await this.runBusy(what, fn);
  }

  // Runs fn once nothing of `what` runs any more; of several waiting for
  // the same `slot`, only the latest runs (a menu changed twice quickly
  // ends at the last choice, and no choice is lost).
  async afterBusy(what, slot, fn) {
    this.waiting.set(slot, fn);
    while (this.busy.has(what)) await this.busy.get(what);
    if (this.waiting.get(slot) !== fn) return;
    this.waiting.delete(slot);
    await this.runBusy(what, fn);
  }

  async runBusy(what, fn) {
    let done;
    this.busy.set(what, new Promise((resolve) => {
      done = resolve;
    }));
    try {
      await fn();
    } catch (e) {
      toast(e.message || String(e), 'error');
    } finally {
      this.busy.delete(what);
      done();
      this.refresh();
    }
  }

  toggleMic() {
    if (!this.canPublish) return;
    return this.exclusive('mic', async () => {
      const { room, media } = this;
      if (!room.sender('mic')) {
        try {
          await media.openMic();
        } catch (e) {
          toast(`Microphone: ${mediaErrorText(e)}`, 'error');
          return;
        }
        await room.publish(media.mic, 'mic');
        this.micOn = true;
      } else if (this.micOn) {
        this.micOn = false;
        await room.muteTrack('mic');
      } else {
        if (!media.mic || media.mic.readyState === 'ended') {
          await media.openMic();
          await room.replaceTrack('mic', media.mic);
        }
        this.micOn = true;
        await room.unmuteTrack('mic');
      }
    });
  }

  toggleCam() {
    if (!this.canPublish) return;
    return this.exclusive('cam', async () => {
      if (this.camOn) await this.cameraOff(false);
      else await this.cameraOn();
    });
  }

  async cameraOn() {
    const { room, media } = this;
    try {
      await media.openCamera();
    } catch (e) {
      toast(`Camera: ${mediaErrorText(e)}`, 'error');
      return;
    }
    if (room.sender('camera')) {
      await room.replaceTrack('camera', media.camera);
      this.camOn = true;
      await room.unmuteTrack('camera');
    } else {
      await room.publish(media.camera, 'camera');
      this.camOn = true;
    }
    await this.applyCameraParameters();
  }

  // Camera off: muted for everyone, nothing sent, the device released (its
  // light goes off). `already`: the server muted it (a moderator).
  async cameraOff(already) {
    this.camOn = false;
    if (this.room.sender('camera')) {
      if (!already) await this.room.muteTrack('camera');
      await this.room.replaceTrack('camera', null);
    }
    this.media.stopCamera();
  }

  // The browser ended our camera or microphone track: the camera goes
  // off, the microphone is muted, for everyone; the control turns it on
  // again with the device opened anew.
  deviceEnded(kind, track) {
    if (kind === 'camera') {
      return this.afterBusy('cam', 'camera-ended', async () => {
        if (!this.camOn || this.media.camera !== track) return;
        toast('Your camera stopped', 'error');
        await this.cameraOff(false);
      });
    }
    return this.afterBusy('mic', 'mic-ended', async () => {
      if (!this.micOn || this.media.mic !== track) return;
      toast('Your microphone stopped', 'error');
      this.micOn = false;
      await this.room.muteTrack('mic');
    });
  }

  shareScreen() {
    if (!this.canPublish) return;
    return this.exclusive('share', async () => {
      let track;
      try {
        track = await captureScreen();
      } catch (e) {
        if (e.name !== 'NotAllowedError' && e.name !== 'AbortError') toast(`Screen share: ${mediaErrorText(e)}`, 'error');
        return;
      }
      const used = new Set(this.screens.map((s) => s.label));
      let n = 1;
      while (used.has(n === 1 ? 'screen' : `screen-${n}`)) n++;
      const share = { label: n === 1 ? 'screen' : `screen-${n}`, n, track, stream: new MediaStream([track]) };
      this.screens.push(share);
      track.addEventListener('ended', () => this.stopShare(share)); // the browser's own "Stop sharing"
      this.refresh();
      try {
        await this.room.publish(track, share.label);
        await this.room.setSendParameters(share.label, { degradationPreference: 'maintain-resolution' });
      } catch (e) {
        this.screens = this.screens.filter((s) => s !== share);
        track.stop();
        throw e;
      }
    });
  }

  async stopShare(share) {
    if (!this.screens.includes(share)) return;
    this.screens = this.screens.filter((s) => s !== share);
    this.refresh();
    try {
      if (this.room.sender(share.label)) await this.room.unpublish(share.label);
    } catch (e) {
      console.warn('unpublish', e);
    }
    share.track.stop();
  }

  async stopPublishing() {
    for (const share of [...this.screens]) await this.stopShare(share);
    for (const label of ['camera', 'mic'])
      if (this.room.sender(label)) await this.room.unpublish(label).catch(() => {});
    this.media.stopAll();
    this.micOn = false;
    this.camOn = false;
  }

  onParticipantUpdated({ participant, self }) {
    if (participant.name) this.names.set(participant.participant_id, participant.name);
    if (self) {
      const can = this.canPublish;
      if (can && !this.couldPublish) toast('A moderator allowed you to publish: turn on your microphone or camera.');
      if (!can && this.couldPublish) {
        toast('You may no longer publish');
        this.stopPublishing();
      }
    }
    this.refresh();
  }

  toggleAudioOnly() {
    return this.exclusive('audio-only', async () => {
      await this.room.setAudioOnly(!this.audioOnly);
      this.audioOnly = this.room.audioOnly;
      toast(this.audioOnly ? 'Audio only: you receive no video' : 'Video is back');
    });
  }

  setView(view) {
    this.view = view;
    if (view === 'grid') this.pinned = null;
    this.refresh();
  }

  pin_(key) {
    this.pinned = this.pinned === key ? null : key;
    if (this.pinned) this.view = 'speaker';
    this.refresh();
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else this.root.requestFullscreen?.().catch(() => {});
  }

  // --- remote audio ---

  playAudio(id, stream) {
    if (this.audioEls.has(id)) return;
    const el = h('audio', { autoplay: true });
    el.srcObject = stream;
    if (this.media.speakerId && el.setSinkId) el.setSinkId(this.media.speakerId).catch(() => {});
    this.audioBox.append(el);
    el.play().catch(() => {});
    this.audioEls.set(id, el);
  }

  stopAudio(id) {
    const el = this.audioEls.get(id);
    if (!el) return;
    el.srcObject = null;
    el.remove();
    this.audioEls.delete(id);
  }

  // --- what to show ---

  nameOf(pid) {
    if (pid === this.room.participantId) return this.name;
    return this.room.participants.get(pid)?.name || this.names.get(pid) || 'Participant';
  }

  // Everyone in the room but us: {p, tracks} in join order, including
  // publishers we only know from their tracks (no `list` permission).
  others() {
    const people = new Map();
    for (const p of this.room.participants.values()) people.set(p.participant_id, { p, tracks: [] });
    for (const info of this.room.tracks.values()) {
      let e = people.get(info.participant_id);
      if (!e) people.set(info.participant_id, (e = { p: { participant_id: info.participant_id, name: this.nameOf(info.participant_id) }, tracks: [] }));
      e.tracks.push(info);
    }
    return [...people.values()];
  }

  descriptors() {
    const room = this.room;
    const me = room.participantId;
    const screens = [];
    const people = [];
    for (const { p, tracks } of this.others()) {
      const pid = p.participant_id;
      const name = p.name || 'Participant';
      const cam = cameraOf(tracks);
      const mic = tracks.find((t) => t.kind === 'audio');
      const hidden = this.hidden.has(pid);
      for (const t of tracks) {
        if (t.kind !== 'video' || t === cam) continue;
        const remote = room.remote.get(t.id);
        const n = screenNumber(t.label);
        screens.push({
          key: `t:${t.id}`, kind: 'screen', participantId: pid, userId: p.user_id, trackId: t.id,
          name: isScreenLabel(t.label) ? `${name}\u2019s screen${n > 1 ? ` ${n}` : ''}` : `${name}: ${t.label}`,
          stream: remote?.stream || null,
          videoOff: hidden || this.audioOnly || !!t.muted,
          offText: hidden ? 'Video hidden' : this.audioOnly ? 'Audio only' : t.muted ? 'Paused' : remote ? '' : 'Connecting…',
        });
      }
      if (!tracks.length && !canPublishParticipant(p)) continue; // viewers: in the list only
      const remote = cam && room.remote.get(cam.id);
      people.push({
        key: `p:${pid}`, kind: 'person', participantId: pid, userId: p.user_id, trackId: cam?.id,
        name,
        stream: remote?.stream || null,
        videoOff: !cam || !!cam.muted || hidden || this.audioOnly,
        offText: hidden ? 'Video hidden' : !cam || cam.muted ? '' : this.audioOnly ? 'Audio only' : '',
        micMuted: !mic || !!mic.muted,
        speaking: !!p.speaking,
      });
    }
    for (const share of this.screens) {
      screens.push({
        key: `local:${share.label}`, kind: 'screen', self: true, participantId: me, label: share.label,
        name: share.n > 1 ? `Your screen ${share.n}` : 'Your screen',
        stream: share.stream, videoOff: false, onstop: () => this.stopShare(share),
      });
    }
    const self = [];
    if (this.canPublish || room.localTracks.length) {
      self.push({
        key: `p:${me}`, kind: 'person', self: true, participantId: me, userId: this.client.user?.id,
        name: `${this.name} (you)`, avatarName: this.name,
        stream: this.camOn && this.media.camera ? this.selfStream() : null,
        videoOff: !this.camOn, offText: '', mirror: true,
        micMuted: !this.micOn, speaking: this.selfSpeaking,
      });
    }
    return [...screens, ...self, ...people];
  }

  selfStream() {
    const cam = this.media.camera;
    if (this._selfStream?.getVideoTracks()[0] !== cam) this._selfStream = new MediaStream([cam]);
    return this._selfStream;
  }

  // The tile shown large in speaker view: the pinned one, else the newest
  // screen share of someone else, else whoever last started speaking, else
  // the first other person, else us.
  largeKey(descs) {
    const keys = new Set(descs.map((d) => d.key));
    if (this.pinned && keys.has(this.pinned)) return this.pinned;
    const remoteScreens = descs.filter((d) => d.kind === 'screen' && !d.self);
    if (remoteScreens.length) return remoteScreens[remoteScreens.length - 1].key;
    if (this.activeSpeaker && keys.has(`p:${this.activeSpeaker}`)) return `p:${this.activeSpeaker}`;
    const other = descs.find((d) => d.kind === 'person' && !d.self);
    return other?.key || descs[0]?.key || null;
  }

  refresh() {
    if (this._refreshQueued || !this.room) return;
    this._refreshQueued = true;
    queueMicrotask(() => {
      this._refreshQueued = false;
      if (!this.root?.isConnected && this.closed) return;
      this.paint();
    });
  }

  paint() {
    const descs = this.descriptors();
    this.descs = new Map(descs.map((d) => [d.key, d]));
    if (this.pinned && !this.descs.has(this.pinned)) this.pinned = null;
    this.tilesView.update(descs, { view: this.view, largeKey: this.largeKey(descs), pinnedKey: this.pinned });
    const others = this.others();
    this.alone.hidden = others.length > 0;
    const count = others.length + 1;
    this.countEl.textContent = `${count} ${count === 1 ? 'person' : 'people'}`;
    this.peopleBadge.textContent = String(count);
    this.lockEl.hidden = !this.room.info?.locked;
    this.viewerChip.hidden = this.canPublish;
    this.live.paint();
    this.paintControls();
    this.paintPeople();
    this.couldPublish = this.canPublish;
  }

  paintControls() {
    const can = this.canPublish;
    this.publishGroup.hidden = !can && !LocalMedia.canChooseSpeaker;
    for (const el of [this.micBtn, this.camBtn, this.shareBtn, this.shareChips]) el.hidden = !can;
    setIcon(this.micBtn, this.micOn ? 'mic' : 'micOff');
    label(this.micBtn, this.micOn ? 'Mute microphone' : 'Unmute microphone', 'M');
    this.micBtn.classList.toggle('off', !this.micOn);
    setIcon(this.camBtn, this.camOn ? 'cam' : 'camOff');
    label(this.camBtn, this.camOn ? 'Turn camera off' : 'Turn camera on', 'V');
    this.camBtn.classList.toggle('off', !this.camOn);
    label(this.shareBtn, this.screens.length ? 'Share another screen' : 'Share your screen');
    const chipsKey = this.screens.map((x) => x.label).join(',');
    if (this.shareChips.dataset.key !== chipsKey) this.shareChips.replaceChildren(...this.screens.map((share) => {
      const name = share.n > 1 ? `screen ${share.n}` : 'screen';
      const chip = h('button', { type: 'button', class: 'chip-btn danger', onclick: () => this.stopShare(share) },
        icon('stop', 16), h('span', {}, `Stop ${name}`));
      label(chip, `Stop sharing your ${name}`);
      return chip;
    }));
    this.shareChips.dataset.key = chipsKey;
    setIcon(this.layoutBtn, this.view === 'grid' ? 'speaker' : 'grid');
    label(this.layoutBtn, this.view === 'grid' ? 'Speaker view' : 'Grid view');
    this.audioOnlyBtn.setAttribute('aria-pressed', String(this.audioOnly));
    this.audioOnlyBtn.classList.toggle('on', this.audioOnly);
    label(this.audioOnlyBtn, this.audioOnly ? 'Receive video again' : 'Audio only (receive no video)');
    label(this.peopleBtn, `Participants (${this.peopleBadge.textContent})`);
    this.peopleBtn.setAttribute('aria-expanded', String(this.side.open && this.side.current === 'people'));
    const unread = this.side.unread;
    this.chatBadge.hidden = unread === 0;
    this.chatBadge.textContent = String(unread);
    label(this.chatBtn, unread ? `Chat (${unread} unread)` : 'Chat');
    this.chatBtn.setAttribute('aria-expanded', String(this.side.open && !!this.side.current?.startsWith('chat:')));
    const full = !!document.fullscreenElement;
    setIcon(this.fullBtn, full ? 'minimize' : 'maximize');
    label(this.fullBtn, full ? 'Exit full screen' : 'Full screen');
  }

  // --- subscriptions: receive the video of the tiles on screen only ---

  reconcileSubscriptions() {
    const room = this.room;
    if (!room || room.closed) return;
    const want = new Set();
    for (const key of this.tilesView.shown) {
      const d = this.descs?.get(key);
      if (d?.trackId && !d.self && !this.hidden.has(d.participantId)) want.add(d.trackId);
    }
    for (const id of this.subWanted.keys()) if (!room.tracks.has(id)) this.subWanted.delete(id);
    for (const [id, info] of room.tracks) {
      if (info.kind !== 'video') continue;
      const wanted = want.has(id);
      const current = this.subWanted.has(id) ? this.subWanted.get(id) : !room.unsubscribed.has(id);
      if (wanted === current) continue;
      this.subWanted.set(id, wanted);
      (wanted ? room.subscribeTrack(id) : room.unsubscribeTrack(id)).catch((e) => {
        this.subWanted.delete(id);
        if (e.code !== 'NOTFOUND' && !room.closed) console.warn('subscription', id, e);
      });
    }
  }

  // --- side panel: people and chats ---

  // A 1-1 chat tab with someone of the call.
  openChatWith(userId, name) {
    const me = this.client.user?.id;
    if (!userId || userId === me) return;
    const id = `chat:${userId}`;
    if (!this.side.tabs.has(id)) {
      const conversation = `dm:${[me, userId].sort().join(':')}`;
      this.side.add(id, name, { closable: true, chat: { conversation, user: { id: userId, name }, title: name } });
    }
    this.side.select(id);
    this.side.show(true);
  }

  // The room's removed members (REST `GET /rooms/{id}/bans`) join those
  // removed during this call.
  async loadRemoved() {
    try {
      const bans = await this.api.listBans(this.roomId);
      for (const b of bans)
        if (!this.removed.has(b.user_id)) this.removed.set(b.user_id, b.name || 'Someone');
      this.refresh();
    } catch (e) {
      console.warn('zumzi: could not list the removed members', e);
    }
  }

  // The chat tab the chat button opens: one with unread messages, else the
  // last one shown, else the room's.
  chatToShow() {
    const unread = [...this.side.tabs.values()].find((t) => t.chat && t.unread > 0);
    return unread?.id || this.side.lastChat || 'chat:room';
  }

  onDirectMessage(m) {
    const me = this.session.user?.id || this.client.user?.id;
    if (!m?.conversation?.startsWith('dm:') || !me || m.sender === me) return;
    const id = `chat:${m.sender}`;
    if (this.side.tabs.has(id)) return; // its chat view has it
    const p = [...this.room.participants.values()].find((x) => x.user_id === m.sender);
    const name = p?.name || this.session.nameOf?.(m.sender) || 'Someone';
    this.side.add(id, name, { closable: true, chat: { conversation: m.conversation, user: { id: m.sender, name }, title: name } });
    toast(`New message from ${name}`);
  }

  paintPeople() {
    const room = this.room;
    const people = [{
      pid: room.participantId, uid: this.client.user?.id, name: this.name, self: true,
      role: room.role, perms: room.permissions, hasMic: !!room.sender('mic'), hasCam: !!room.sender('camera'),
      micMuted: !this.micOn, camOff: !this.camOn, speaking: this.selfSpeaking, hasVideo: this.camOn,
    }];
    for (const { p, tracks } of this.others()) {
      const cam = cameraOf(tracks);
      const mic = tracks.find((t) => t.kind === 'audio');
      people.push({
        pid: p.participant_id, uid: p.user_id, name: p.name || 'Participant', self: false,
        role: p.role, perms: p.permissions, hasMic: !!mic, hasCam: !!cam,
        micMuted: !mic || !!mic.muted, camOff: !cam || !!cam.muted, speaking: !!p.speaking,
        hasVideo: tracks.some((t) => t.kind === 'video'), hidden: this.hidden.has(p.participant_id),
      });
    }
    this.peopleList.update(people, {
      moderator: this.canModerate, locked: !!room.info?.locked,
      canList: room.permissions.includes('list'), removed: this.removed,
    });
  }

  async moderate(fn) {
    try {
      await fn();
    } catch (e) {
      toast(`${e.message || e}${e.code ? ` (${e.code})` : ''}`, 'error');
    }
  }

  // --- invite ---

  async invite() {
    const room = this.room;
    const base = `${location.origin}/r/${encodeURIComponent(this.roomId)}`;
    const links = [];
    if (room.role === 'owner') {
      try {
        const full = await rest(this.session, 'GET', `/api/v1/rooms/${encodeURIComponent(this.roomId)}`);
        if (full.participant_pin) links.push({ kind: 'participant', title: 'Participant link', what: 'Joins with camera, microphone and screen sharing.', pin: full.participant_pin });
        if (full.viewer_pin) links.push({ kind: 'viewer', title: 'Viewer link', what: 'Watches and listens only (live audience).', pin: full.viewer_pin });
      } catch (e) {
        toast(`Could not read the room's PINs: ${e.message}`, 'error');
      }
    } else if (this.pin) {
      const viewer = room.role === 'viewer';
      links.push({
        kind: viewer ? 'viewer' : 'participant', title: viewer ? 'Viewer link' : 'Participant link',
        what: viewer ? 'Watches and listens only.' : 'Joins with camera, microphone and screen sharing.', pin: this.pin,
      });
    }
    if (!links.length) links.push({ kind: 'plain', title: 'Room link', what: 'Members join with it; others need a PIN from the room\u2019s owner.', pin: '' });
    const rows = links.map((l) => {
      const url = l.pin ? `${base}?pin=${encodeURIComponent(l.pin)}` : base;
      const id = `invite-${l.kind}`;
      return h('div', { class: 'invite-row', 'data-kind': l.kind },
        h('label', { for: id }, l.title),
        h('p', { class: 'dim' }, l.what, l.pin ? ` PIN ${l.pin}.` : ''),
        h('div', { class: 'row nowrap' },
          h('input', { id, readonly: true, value: url, onfocus: (e) => e.target.select() }),
          h('button', { type: 'button', 'aria-label': `Copy the ${l.title.toLowerCase()}`, title: `Copy the ${l.title.toLowerCase()}`, onclick: () => copyText(url, l.title) },
            icon('copy', 16), 'Copy')));
    });
    await dialog('Invite people', h('div', { class: 'invite' }, rows), [{ label: 'Close', value: true, class: 'primary' }]);
  }

  // The viewer PIN for the live stream's viewer link: the owner reads it
  // from the room, a viewer knows its own; others get a link without PIN.
  async viewerPin() {
    if (this.room.role === 'owner') {
      const full = await rest(this.session, 'GET', `/api/v1/rooms/${encodeURIComponent(this.roomId)}`);
      return full.viewer_pin || null;
    }
    return this.room.role === 'viewer' ? this.pin || null : null;
  }

  // --- settings popover: devices and video quality ---

  async buildSettings(el) {
    const media = this.media;
    const can = this.canPublish;
    let d = { cameras: [], mics: [], speakers: [] };
    try {
      d = await media.devices();
    } catch {
      // no device list
    }
    const select = (id, labelText, list, current, what, onchange) => h('div', { class: 'field' },
      h('label', { for: id }, labelText),
      h('select', { id, onchange: (e) => onchange(e.target.value), disabled: !list.length },
        list.length ? list.map((dev, i) => h('option', { value: dev.deviceId, selected: dev.deviceId === current }, dev.label || `${what} ${i + 1}`))
          : h('option', {}, `No ${what.toLowerCase()}`)));
    el.replaceChildren(h('h2', {}, 'Settings'),
      can && select('set-camera', 'Camera', d.cameras, media.cameraId, 'Camera', (v) => this.switchCamera(v)),
      can && select('set-mic', 'Microphone', d.mics, media.micId, 'Microphone', (v) => this.switchMic(v)),
      LocalMedia.canChooseSpeaker && select('set-speaker', 'Speaker', d.speakers, media.speakerId, 'Speaker', (v) => this.switchSpeaker(v)),
      can && h('div', { class: 'field' },
        h('label', { for: 'set-resolution' }, 'Video quality (what you send)'),
        h('select', { id: 'set-resolution', onchange: (e) => this.switchResolution(e.target.value) },
          RESOLUTIONS.map((r) => h('option', { value: r.id, selected: r.id === media.resolution }, r.label)))));
  }

  switchCamera(id) {
    return this.afterBusy('cam', 'camera-device', async () => {
      this.media.cameraId = id;
      if (!this.camOn) return;
      await this.media.openCamera(id);
      await this.room.replaceTrack('camera', this.media.camera);
      await this.applyCameraParameters();
    });
  }

  switchMic(id) {
    return this.afterBusy('mic', 'mic-device', async () => {
      this.media.micId = id;
      if (!this.room.sender('mic')) return;
      await this.media.openMic(id);
      await this.room.replaceTrack('mic', this.media.mic);
    });
  }

  switchSpeaker(id) {
    this.media.speakerId = id;
    for (const el of this.audioEls.values()) el.setSinkId?.(id).catch(() => {});
  }

  switchResolution(id) {
    return this.afterBusy('cam', 'camera-size', async () => {
      const track = await this.media.setResolution(id);
      if (!track || !this.camOn) return;
      if (this.room.sender('camera')?.track !== track) await this.room.replaceTrack('camera', track);
      await this.applyCameraParameters();
      const s = track.getSettings();
      toast(`Camera: ${s.width}×${s.height}`);
    });
  }

  // --- statistics popover ---

  buildStats(el) {
    el.replaceChildren(h('h2', {}, 'Connection statistics'), h('div', { class: 'stats-body' }, 'Measuring…'));
    const stats = new CallStats(this.room, (info) =>
      `${this.nameOf(info.participant_id)} ${isScreenLabel(info.label) ? 'screen' : 'camera'}`);
    const update = async () => {
      try {
        const rows = await stats.rows();
        el.querySelector('.stats-body')?.replaceChildren(...rows);
      } catch (e) {
        console.warn('stats', e);
      }
    };
    update();
    this.stopStats();
    this.statsTimer = setInterval(update, 1000);
  }

  stopStats() {
    clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  // --- sounds ---

  chime(up) {
    const now = Date.now();
    if (now - (this.lastChime || 0) < 800) return;
    this.lastChime = now;
    try {
      this.audioCtx ||= new AudioContext();
      const ctx = this.audioCtx;
      const t = ctx.currentTime;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(up ? 660 : 587, t);
      osc.frequency.setValueAtTime(up ? 880 : 440, t + 0.1);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.12, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.28);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.3);
    } catch {
      // no WebAudio: no sound
    }
  }

  // --- leaving ---

  async leave() {
    const sure = await confirmDialog('Leave the call?', 'You can join again with the same link.', 'Leave');
    if (!sure) return;
    try {
      await this.room.leave();
    } catch {
      // the connection is gone already: leaving is done anyway
    }
    this.finish('left');
  }

  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanups) fn();
    this.stopStats();
    this.settingsPop.close(false);
    this.statsPop.close(false);
    this.live.destroy();
    for (const share of this.screens) share.track.stop();
    this.screens = [];
    this.media.stopAll();
    for (const id of [...this.audioEls.keys()]) this.stopAudio(id);
    this.side.destroy();
    this.tilesView.destroy();
    this.audioCtx?.close().catch(() => {});
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    if (!this.room.closed) this.room.leave().catch(() => {});
    if (this.ownClient) this.client.close();
    this.ended({ reason });
  }
}

// Labels an icon button for everyone: aria-label, and a tooltip that names
// its keyboard shortcut.
function label(el, text, shortcut) {
  el.setAttribute('aria-label', text);
  el.title = shortcut ? `${text} (${shortcut})` : text;
}

function setIcon(el, name) {
  const old = el.querySelector('svg.icon-svg');
  if (old?.classList.contains(`icon-${name}`)) return;
  const svg = icon(name);
  if (old) old.replaceWith(svg);
  else el.prepend(svg);
}
