// tiles.js: the conference stage. One tile per participant (camera or
// avatar, name, muted and talking marks) and per screen share; laid out as
// a grid (1, 2x2, 3x3, 4x4, pages of `maxTiles` beyond) or as speaker view
// (one large tile, a strip of the others, paged too). Only the tiles shown
// are in the document; after each layout `onlayout(shownKeys)` says which,
// so the conference receives only the video it shows.
import { h, initials } from './ui.js';
import { icon } from './icons.js';

// A tile description (what conference.js passes for each tile):
//   key            unique ('p:<participant id>', 't:<track id>', 'local:<label>')
//   kind           'person' | 'screen'
//   name           caption
//   avatarName     the name for the initials, when the caption says more
//   self           our own tile
//   stream         MediaStream with the video track, or null
//   videoOff       true when no video should show (camera off, hidden...)
//   offText        what the tile says then ('Camera off', 'Video hidden'...)
//   micMuted       person tiles: true when the microphone is muted or absent
//   speaking       talking now
//   mirror         flip the video (our own camera)
//   onstop         screen tiles we share: the stop button's action
//   participantId, userId, trackId   for data attributes (tests, styling)

export class TileView {
  constructor({ maxTiles = 16, stripSize = 6, onlayout = () => {}, onpin = () => {} } = {}) {
    this.maxTiles = maxTiles;
    this.stripSize = stripSize;
    this.onlayout = onlayout;
    this.onpin = onpin;
    this.tiles = new Map(); // key -> Tile
    this.page = { grid: 0, speaker: 0 };
    this.view = 'grid';
    this.largeKey = null;
    this.pinnedKey = null;
    this.main = h('div', { class: 'tiles-main', role: 'list', 'aria-label': 'Video tiles' });
    this.strip = h('div', { class: 'tiles-strip', role: 'list', 'aria-label': 'Other participants' });
    this.pager = h('nav', { class: 'pager', 'aria-label': 'Pages of participants', hidden: true });
    this.el = h('div', { class: 'tiles grid' }, this.main, this.strip, this.pager);
    this._order = [];
    this._grid = { cols: 1, rows: 1 };
    // Tiles keep 16:9 and grow as large as the stage allows.
    this._resize = new ResizeObserver(() => this._size());
    this._resize.observe(this.main);
    this._onFullscreen = () => {
      for (const tile of this.tiles.values()) tile._paintFullscreen();
    };
    document.addEventListener('fullscreenchange', this._onFullscreen);
  }

  _size() {
    const { cols, rows } = this._grid;
    const gap = 8;
    const w = this.main.clientWidth;
    const hgt = this.main.clientHeight;
    if (!w || !hgt) return;
    const tileW = Math.floor(Math.min((w - gap * (cols - 1)) / cols, ((hgt - gap * (rows - 1)) / rows) * 16 / 9));
    this.main.style.setProperty('--tile-w', `${Math.max(tileW, 40)}px`);
    this.main.style.setProperty('--tile-h', `${Math.max(Math.floor((tileW * 9) / 16), 22)}px`);
  }

  // descs: the tiles in display order; view: 'grid' | 'speaker'; largeKey:
  // the tile to show large in speaker view; pinnedKey: marked as pinned.
  update(descs, { view = this.view, largeKey = null, pinnedKey = null } = {}) {
    this.view = view;
    this.largeKey = largeKey;
    this.pinnedKey = pinnedKey;
    const keys = new Set(descs.map((d) => d.key));
    for (const [key, tile] of this.tiles) {
      if (!keys.has(key)) {
        tile.destroy();
        this.tiles.delete(key);
      }
    }
    for (const d of descs) {
      let tile = this.tiles.get(d.key);
      if (!tile) {
        tile = new Tile(d, this);
        this.tiles.set(d.key, tile);
      }
      tile.update(d, d.key === pinnedKey);
    }
    this._order = descs.map((d) => d.key);
    this._layout();
  }

  setPage(n) {
    this.page[this.view] = n;
    this._layout();
  }

  get pageCount() {
    return this._pages;
  }

  get currentPage() {
    return this.page[this.view];
  }

  // The keys of the tiles on screen now.
  get shown() {
    return new Set(this._shown || []);
  }

  _layout() {
    const order = this._order;
    let mainKeys;
    let stripKeys = [];
    let pageSize;
    let pool;
    if (this.view === 'speaker' && order.length > 1) {
      const large = order.includes(this.largeKey) ? this.largeKey : order[0];
      mainKeys = [large];
      pool = order.filter((k) => k !== large);
      pageSize = this.stripSize;
    } else {
      mainKeys = null;
      pool = order;
      pageSize = this.maxTiles;
    }
    const pages = Math.max(1, Math.ceil(pool.length / pageSize));
    const view = this.view === 'speaker' && order.length > 1 ? 'speaker' : 'grid';
    const page = Math.min(this.page[this.view] || 0, pages - 1);
    this.page[this.view] = page;
    const slice = pool.slice(page * pageSize, (page + 1) * pageSize);
    if (mainKeys) stripKeys = slice;
    else mainKeys = slice;
    this._pages = pages;

    this.el.classList.toggle('grid', view === 'grid');
    this.el.classList.toggle('speaker', view === 'speaker');
    const n = mainKeys.length;
    const cols = view === 'grid' ? Math.max(1, Math.ceil(Math.sqrt(n))) : 1;
    const rows = view === 'grid' ? Math.max(1, Math.ceil(n / cols)) : 1;
    this.main.style.setProperty('--cols', cols);
    this.main.style.setProperty('--rows', rows);
    this.main.dataset.count = n;
    this._grid = { cols, rows };
    place(this.main, mainKeys.map((k) => this.tiles.get(k).el));
    place(this.strip, stripKeys.map((k) => this.tiles.get(k).el));
    this.strip.hidden = stripKeys.length === 0;
    for (const k of mainKeys) this.tiles.get(k).el.classList.toggle('large', view === 'speaker');
    for (const k of stripKeys) this.tiles.get(k).el.classList.remove('large');
    for (const k of [...mainKeys, ...stripKeys]) this.tiles.get(k).resume();
    this._pager(pages, page);
    this._size();
    this._shown = [...mainKeys, ...stripKeys];
    this.onlayout(new Set(this._shown));
  }

  _pager(pages, page) {
    // Rebuilt only when it changes: a button under the pointer must stay.
    const key = `${this.view}:${pages}:${page}`;
    if (this._pagerKey === key) return;
    this._pagerKey = key;
    this.pager.hidden = pages <= 1;
    if (pages <= 1) {
      this.pager.replaceChildren();
      return;
    }
    const what = this.view === 'speaker' ? 'strip page' : 'page';
    const btn = (n, content, label, extra = {}) => h('button', {
      type: 'button', class: 'icon', 'aria-label': label, title: label,
      onclick: () => this.setPage(n), ...extra,
    }, content);
    const numbers = [];
    for (let i = 0; i < pages; i++)
      numbers.push(btn(i, String(i + 1), `Show ${what} ${i + 1} of ${pages}`,
        i === page ? { 'aria-current': 'page', class: 'icon current' } : {}));
    this.pager.replaceChildren(
      btn(page - 1, icon('prev', 18), `Previous ${what}`, { disabled: page === 0 }),
      ...numbers,
      btn(page + 1, icon('next', 18), `Next ${what}`, { disabled: page === pages - 1 }));
  }

  destroy() {
    this._resize.disconnect();
    document.removeEventListener('fullscreenchange', this._onFullscreen);
    for (const tile of this.tiles.values()) tile.destroy();
    this.tiles.clear();
    this.el.remove();
  }
}

// Puts exactly `els` into `parent`, in order, moving as few as possible
// (a <video> moved in the document pauses; resume() plays it again).
function place(parent, els) {
  const wanted = new Set(els);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  els.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] || null);
  });
}

class Tile {
  constructor(d, view) {
    this.view = view;
    this.video = h('video', { autoplay: true, muted: true, playsInline: true });
    this.avatar = h('div', { class: 'tile-avatar', 'aria-hidden': 'true' });
    this.offText = h('div', { class: 'tile-off' });
    this.micIcon = h('span', { class: 'tile-mic', role: 'img' });
    this.talk = h('span', { class: 'tile-talk', 'aria-hidden': 'true' }, h('i'), h('i'), h('i'));
    this.nameEl = h('span', { class: 'tile-name-text' });
    this.pinBtn = h('button', { type: 'button', class: 'icon tile-btn', onclick: () => view.onpin(this.key) }, icon('pin', 16));
    this.fsBtn = h('button', { type: 'button', class: 'icon tile-btn', onclick: () => this.fullscreen() }, icon('maximize', 16));
    this.stopBtn = h('button', { type: 'button', class: 'tile-stop danger', onclick: () => this.d?.onstop?.() },
      icon('stop', 16), 'Stop sharing');
    this.el = h('figure', { class: 'tile', role: 'listitem', tabindex: '-1' },
      this.avatar, this.video, this.offText,
      h('figcaption', { class: 'tile-name' }, this.micIcon, this.nameEl, this.talk),
      h('div', { class: 'tile-buttons' }, this.pinBtn, this.fsBtn),
      this.stopBtn);
    this.key = d.key;
    this.playing = false;
    this.track = null;
    const onFrames = () => {
      this.playing = this.video.videoWidth > 0;
      this._paintVideo();
    };
    this.video.addEventListener('resize', onFrames);
    this.video.addEventListener('loadeddata', onFrames);
    this.video.addEventListener('playing', onFrames);
    this._onTrackMute = () => this._paintVideo();
  }

  update(d, pinned) {
    this.d = d;
    const el = this.el;
    el.dataset.key = d.key;
    el.dataset.kind = d.kind;
    if (d.participantId) el.dataset.participant = d.participantId;
    if (d.userId) el.dataset.user = d.userId;
    if (d.trackId) el.dataset.track = d.trackId;
    else delete el.dataset.track;
    el.classList.toggle('self', !!d.self);
    el.classList.toggle('screen', d.kind === 'screen');
    el.classList.toggle('speaking', !!d.speaking);
    el.classList.toggle('pinned', !!pinned);
    el.classList.toggle('mirror', !!d.mirror);
    el.setAttribute('aria-label', tileLabel(d));
    this.nameEl.textContent = d.name;
    if (d.kind === 'screen') {
      if (!this.avatar.firstElementChild) this.avatar.replaceChildren(icon('screen', 40));
    } else {
      this.avatar.textContent = initials(d.avatarName || d.name);
    }
    this.offText.textContent = d.offText || '';
    // Microphone mark: person tiles only.
    this.micIcon.hidden = d.kind !== 'person';
    this.micIcon.classList.toggle('muted', !!d.micMuted);
    if (this._micMuted !== !!d.micMuted) this.micIcon.replaceChildren(icon(d.micMuted ? 'micOff' : 'mic', 16));
    this._micMuted = !!d.micMuted;
    this.micIcon.setAttribute('aria-label', d.micMuted ? 'Microphone muted' : 'Microphone on');
    this.micIcon.title = d.micMuted ? 'Microphone muted' : 'Microphone on';
    const pinLabel = pinned ? `Unpin ${d.name}` : `Pin ${d.name} (show large)`;
    this.pinBtn.setAttribute('aria-label', pinLabel);
    this.pinBtn.title = pinLabel;
    this.pinBtn.setAttribute('aria-pressed', String(!!pinned));
    this._paintFullscreen();
    this.stopBtn.hidden = !d.onstop;
    this.stopBtn.setAttribute('aria-label', `Stop sharing ${d.name}`);
    this.stopBtn.title = `Stop sharing ${d.name}`;

    const track = d.stream?.getVideoTracks()[0] || null;
    if (track !== this.track) {
      this.track?.removeEventListener('mute', this._onTrackMute);
      this.track?.removeEventListener('unmute', this._onTrackMute);
      this.track = track;
      track?.addEventListener('mute', this._onTrackMute);
      track?.addEventListener('unmute', this._onTrackMute);
      this.playing = false;
    }
    if (this.video.srcObject !== d.stream) {
      this.video.srcObject = d.stream || null;
      this.playing = false;
    }
    this._paintVideo();
  }

  // Video shows once frames arrive, unless the tile says it is off (or the
  // remote track went silent: not forwarded, last-N...).
  _paintVideo() {
    const d = this.d;
    const on = !!(d?.stream && !d.videoOff && this.track && this.track.readyState === 'live' &&
      (d.self || !this.track.muted) && this.playing);
    this.el.classList.toggle('video-on', on);
    this.el.classList.toggle('video-off', !!d?.videoOff);
  }

  _paintFullscreen() {
    const full = document.fullscreenElement === this.el;
    const text = full ? 'Exit full screen' : `Show ${this.d.name} full screen`;
    this.fsBtn.setAttribute('aria-label', text);
    this.fsBtn.title = text;
    if (this._full !== full) this.fsBtn.replaceChildren(icon(full ? 'minimize' : 'maximize', 16));
    this._full = full;
  }

  resume() {
    if (this.video.srcObject && this.video.paused) this.video.play().catch(() => {});
  }

  fullscreen() {
    if (document.fullscreenElement === this.el) document.exitFullscreen().catch(() => {});
    else this.el.requestFullscreen?.().catch(() => {});
  }

  destroy() {
    this.track?.removeEventListener('mute', this._onTrackMute);
    this.track?.removeEventListener('unmute', this._onTrackMute);
    this.video.srcObject = null;
    this.el.remove();
  }
}

function tileLabel(d) {
  const parts = [d.name];
  if (d.kind === 'person') parts.push(d.micMuted ? 'microphone muted' : 'microphone on');
  if (d.videoOff && d.offText) parts.push(d.offText.toLowerCase());
  if (d.speaking) parts.push('talking');
  return parts.join(', ');
}
