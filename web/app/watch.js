// watch.js: /watch/{room}?pin=...: a room's live stream for its audience.
// Signed in like every page, the viewer becomes a member with the PIN
// (REST join), joins the room over the WebSocket without media (the room
// chat and the live_status events), and plays /live/{room}/index.m3u8 in a
// <video>: natively where the browser plays HLS itself, else with hls.js
// (the npm package, served at /vendor/hls.js/). While nothing is live it
// says so and tries again every few seconds; a live_status of the room
// (HLS live) tries at once.
//
//   const cleanup = renderWatch(main, { session, roomId, pin, signal, setTitle });
import { Api } from '../zumzi.js';
import { mountChatView } from './chat-view.js';
import { errorText } from './forms.js';
import { h, setChildren } from './ui.js';

const RETRY_MS = 3000;
const HLS_MODULE = '/vendor/hls.js/hls.mjs';
const HLS_WORKER = '/vendor/hls.js/hls.worker.js';

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    resolve();
  }, { once: true });
});

export function renderWatch(container, { session, roomId, pin, signal, setTitle = (t) => { document.title = t; } }) {
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal?.addEventListener('abort', abort, { once: true });

  const title = h('h1', { class: 'watch-title' }, 'Live');
  const badge = h('span', { class: 'chip live-badge', hidden: true, 'aria-label': 'Live: playing the stream' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'LIVE');
  const video = h('video', { class: 'watch-video', controls: true, playsinline: true, 'aria-label': 'Live stream' });
  const statusText = h('p', { class: 'watch-status-text' }, 'Connecting…');
  const statusHint = h('p', { class: 'dim watch-status-hint' });
  const status = h('div', { class: 'watch-status', role: 'status', 'aria-live': 'polite' }, statusText, statusHint);
  const unmute = h('button', {
    type: 'button', class: 'watch-unmute primary', hidden: true,
    onclick: () => {
      video.muted = false;
      unmute.hidden = true;
      video.play().catch(() => {});
    },
  }, 'Unmute');
  const stage = h('div', { class: 'watch-stage' }, video, status, unmute);
  const chatBox = h('div', { class: 'watch-chat-body' }, h('p', { class: 'dim chat-unavailable' }, 'Loading the chat…'));
  const chat = h('aside', { class: 'watch-chat', 'aria-label': 'Room chat' }, chatBox);
  const page = h('section', { class: 'watch', 'aria-labelledby': 'watch-title' },
    h('header', { class: 'watch-head' }, title, badge),
    h('div', { class: 'watch-body' }, h('div', { class: 'watch-main' }, stage), chat));
  title.id = 'watch-title';
  container.classList.add('watch-host');
  setChildren(container, page);

  const show = (state, text, hint = '') => {
    page.dataset.state = state;
    status.hidden = state === 'playing';
    statusText.textContent = text;
    statusHint.textContent = hint;
    badge.hidden = state !== 'playing';
  };

  const player = new Player(video, {
    url: Api.liveUrl(roomId, pin ? { pin } : { token: session.token }),
    signal: stop.signal,
    onstate: (state, detail) => {
      if (state === 'playing') show('playing', 'Live');
      else if (state === 'offline') show('offline', 'Not live yet', 'This page starts playing as soon as the stream begins.');
      else if (state === 'loading') show('loading', 'Starting the stream…');
      else if (state === 'buffering') show('buffering', 'Buffering…');
      else if (state === 'error') show('error', 'This browser cannot play the stream', detail);
      unmute.hidden = !(state === 'playing' && video.muted && player.autoMuted);
    },
  });

  let chatView = null;
  let room = null;

  const fail = (heading, e) => {
    stop.abort();
    player.stop();
    chatView?.destroy();
    chatView = null;
    setChildren(container, h('section', { class: 'page narrow' },
      h('h1', { tabindex: '-1' }, heading),
      h('p', { class: 'error-text', role: 'alert' }, errorText(e)),
      h('p', {}, h('a', { href: '/rooms' }, 'Go to your rooms'))));
  };

  (async () => {
    let info;
    try {
      info = await session.api.joinRoom(roomId, pin);
    } catch (e) {
      if (!stop.signal.aborted) fail('Cannot watch this room', e);
      return;
    }
    if (stop.signal.aborted) return;
    title.textContent = info.name || 'Live';
    setTitle(`${info.name || 'Live'} · Live · Zumzi`);
    player.start();
    mountChat(info);
    // The room over the WebSocket, without media: live_status events (and
    // our name in the room's roster). Joined again after a reconnection.
    while (!stop.signal.aborted) {
      let client;
      try {
        client = await session.connected();
      } catch {
        return; // signed out
      }
      if (stop.signal.aborted) return;
      try {
        room = await client.join(roomId, pin, { media: false });
      } catch (e) {
        if (e.code === 'ALREADYJOINED') return; // this connection watches it already (another tab of the page)
        if (['BADPIN', 'NOTFOUND', 'REMOVED', 'NOTMEMBER', 'LOCKED'].includes(e.code)) {
          fail('Cannot watch this room', e);
          return;
        }
        await sleep(RETRY_MS, stop.signal);
        continue;
      }
      if (stop.signal.aborted) {
        room.leave().catch(() => {});
        return;
      }
      room.addEventListener('livestatus', (e) => {
        const o = e.detail.output;
        if (o?.kind === 'hls' && o.state === 'live') player.retryNow();
      });
      if (room.liveOutput('hls')?.state === 'live') player.retryNow();
      const reason = await new Promise((resolve) => room.addEventListener('left', (e) => resolve(e.detail.reason), { once: true }));
      room = null;
      if (reason === 'removed') {
        fail('You were removed from this room', { message: 'A moderator took you out of this room.' });
        return;
      }
      if (reason === 'left') return;
      await sleep(1000, stop.signal);
    }
  })();

  function mountChat(info) {
    const perms = info.permissions || [];
    if (!perms.includes('chat_receive')) {
      setChildren(chatBox, h('p', { class: 'dim chat-unavailable' }, 'You may not read this room\u2019s chat.'));
      return;
    }
    chatBox.replaceChildren();
    chatView = mountChatView(chatBox, {
      session, conversation: `room:${roomId}`, title: 'Room chat', canSend: perms.includes('chat_send'),
    });
  }

  return () => {
    abort();
    signal?.removeEventListener('abort', abort);
    player.stop();
    chatView?.destroy();
    container.classList.remove('watch-host');
    if (room && !room.closed) room.leave().catch(() => {});
  };
}

// Plays one HLS URL in a <video>, natively or with hls.js, and keeps trying
// while it is not there. onstate(state, detail): 'loading', 'offline' (no
// stream yet: tried again every RETRY_MS), 'playing', 'buffering', 'error'
// (this browser cannot play HLS at all).
export class Player {
  constructor(video, { url, signal, onstate }) {
    this.video = video;
    this.url = url;
    this.signal = signal;
    this.onstate = onstate;
    this.hls = null; // the hls.js instance while attached
    this.attached = false;
    this.autoMuted = false;
    this.unsupported = false; // neither native HLS nor hls.js: nothing to try
    this.state = null;
    this._wake = null;
    this.native = !!video.canPlayType('application/vnd.apple.mpegurl');
    for (const type of ['playing', 'waiting', 'ended', 'error'])
      video.addEventListener(type, () => this._onVideo(type));
  }

  _set(state, detail) {
    if (this.state === state && !detail) return;
    this.state = state;
    this.since = Date.now();
    this.onstate(state, detail);
  }

  // The loop: probe the playlist; once it is there, play it until it
  // fails, then probe again. A player that has not played for a while
  // (a stream that stopped can leave it waiting for data for good) is
  // dropped once the playlist is gone.
  async start() {
    this._set('loading');
    while (!this.signal.aborted && !this.unsupported) {
      if (!this.attached) {
        if (await this._live()) await this._attach();
        else this._set('offline');
      } else if (this.state !== 'playing' && Date.now() - this.since > 2 * RETRY_MS && !(await this._live())) {
        this._detach();
        this._set('offline');
      }
      await new Promise((resolve) => {
        this._wake = resolve;
        sleep(RETRY_MS, this.signal).then(resolve);
      });
      this._wake = null;
    }
  }

  // The room went live: probe now rather than at the next turn.
  retryNow() {
    if (!this.attached) this._wake?.();
  }

  stop() {
    this._detach();
  }

  // Is the playlist there (a 200 with #EXTM3U)? 404 while not live.
  async _live() {
    try {
      const res = await fetch(this.url, { cache: 'no-store', signal: this.signal });
      if (!res.ok) return false;
      return (await res.text()).startsWith('#EXTM3U');
    } catch {
      return false;
    }
  }

  async _attach() {
    const video = this.video;
    this._set('loading');
    this.attached = true;
    video.dataset.player = this.native ? 'native' : 'hls.js';
    if (this.native) {
      video.src = this.url;
    } else {
      let Hls;
      try {
        ({ default: Hls } = await import(HLS_MODULE));
      } catch {
        this.attached = false;
        this.unsupported = true;
        this._set('error', 'The HLS player (hls.js) is not installed on this server.');
        return;
      }
      if (this.signal.aborted) return;
      if (!Hls.isSupported()) {
        this.attached = false;
        this.unsupported = true;
        this._set('error', 'It plays HLS neither natively nor with Media Source Extensions.');
        return;
      }
      const hls = new Hls({ workerPath: HLS_WORKER, liveDurationInfinity: true });
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal || this.hls !== hls) return;
        // The stream ended or is gone: back to waiting for it.
        this._detach();
        this._set('offline');
        this.retryNow();
      });
      hls.loadSource(this.url);
      hls.attachMedia(video);
    }
    this._play();
  }

  // Autoplay with sound may be refused without a click: then muted, with
  // an Unmute button.
  async _play() {
    const video = this.video;
    try {
      await video.play();
    } catch (e) {
      if (e.name !== 'NotAllowedError' || !this.attached) return;
      video.muted = true;
      this.autoMuted = true;
      video.play().catch(() => {});
    }
  }

  _detach() {
    this.attached = false;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    const video = this.video;
    if (video.getAttribute('src')) {
      video.removeAttribute('src');
      video.load();
    }
  }

  _onVideo(type) {
    if (!this.attached) return;
    if (type === 'playing') this._set('playing');
    else if (type === 'waiting') this._set('buffering');
    else if (type === 'ended' || (type === 'error' && this.native)) {
      // The stream ended (native HLS says so by 'ended' or an error).
      this._detach();
      this._set('offline');
      this.retryNow();
    }
  }
}
