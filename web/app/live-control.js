// live-control.js: the call's live output. Everyone sees the LIVE and REC
// badges in the header while the room is streamed or recorded; moderators
// (and, for recording, members with the `record` permission) get the Live
// button of the control bar and its panel: the composite's layout (grid,
// speaker, picture in picture), HLS (with the viewer page's link to copy),
// RTMP to a URL, recording, each with its state (starting, live, retrying
// with the error), and the room's recordings (download; delete for
// moderators).
//
//   const live = new LiveControl({ room, api, roomId, viewerPin, popoverFor });
//   header.append(live.badges); bar.append(live.button, live.popover.el);
//   room.addEventListener('livestatus', (e) => live.onStatus(e.detail));
//   live.paint();   // permissions changed
//   live.destroy();
import { h, confirmDialog, copyText, toast } from './ui.js';
import { icon } from './icons.js';
import { Popover } from './popover.js';
import { formatSize } from './forms.js';

const LAYOUTS = [
  { id: 'grid', label: 'Grid', what: 'everyone in equal tiles' },
  { id: 'speaker', label: 'Speaker', what: 'the active speaker large, the others in a strip' },
  { id: 'pip', label: 'Picture in picture', what: 'the active speaker full frame, the others small on top' },
];

const KIND_NAMES = { hls: 'HLS stream', rtmp: 'RTMP stream', record: 'Recording' };

// "1:02:03", "2:03"
function formatDuration(ms) {
  const s = Math.max(0, Math.floor((ms || 0) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hh ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

function errorMessage(e) {
  return `${e?.message || e}${e?.code ? ` (${e.code})` : ''}`;
}

// What an output's state line says (its error goes on a line of its own).
export function stateText(output, lastError) {
  if (!output) return lastError ? 'Failed' : 'Off';
  switch (output.state) {
    case 'starting':
      return 'Starting…';
    case 'live':
      return output.started_at
        ? `Live since ${new Date(output.started_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
        : 'Live';
    case 'retrying': {
      const wait = Number.isFinite(output.retry_in_ms) ? ` in ${Math.ceil(output.retry_in_ms / 1000)} s` : '';
      return `Retrying${wait}`;
    }
    default:
      return output.state;
  }
}

export class LiveControl {
  // room: the zumzi.js Room; api: an Api (REST, for the recordings);
  // viewerPin(): resolves with the viewer PIN to put in the viewer link, or
  // null when this user does not know it.
  constructor({ room, api, roomId, viewerPin = async () => null }) {
    this.room = room;
    this.api = api;
    this.roomId = roomId;
    this.viewerPin = viewerPin;
    this.busy = new Set(); // kinds with a request on the way
    this.errors = new Map(); // kind -> why it failed (shown until it starts again)
    this.recordings = null; // null: not loaded
    this.recordingsError = '';
    this.pin = undefined; // the viewer PIN once asked (null: unknown)
    this.pendingLayout = null; // a layout asked for, until the server answers

    this.liveBadge = h('span', { class: 'chip live-badge', hidden: true }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'LIVE');
    this.recBadge = h('span', { class: 'chip rec-badge', hidden: true }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'REC');
    this.badges = h('span', { class: 'live-badges' }, this.liveBadge, this.recBadge);

    this.button = h('button', { type: 'button', class: 'icon ctl ctl-live', onclick: () => this.popover.toggle() }, icon('broadcast'));
    this.popover = new Popover(this.button, 'Live streaming and recording', (el) => this.open(el));
    this.panel = this.buildPanel();
    this.paint();
  }

  get canModerate() {
    return this.room.permissions.includes('moderate');
  }

  get canRecord() {
    return this.canModerate || this.room.permissions.includes('record');
  }

  // --- the panel ---

  buildPanel() {
    const section = (kind, title, ...content) => {
      const state = h('p', { class: 'live-state', id: `live-state-${kind}`, 'data-kind': kind });
      // Why the output failed or retries (from the server).
      const detail = h('p', { class: 'live-detail', id: `live-detail-${kind}` });
      // Why a request of ours was refused.
      const error = h('p', { class: 'error-text live-error', role: 'alert' });
      const el = h('section', { class: `live-section live-${kind}`, 'aria-labelledby': `live-title-${kind}` },
        h('div', { class: 'live-section-head' },
          h('h3', { id: `live-title-${kind}` }, title), state),
        detail, ...content, error);
      return { el, state, detail, error };
    };

    this.layoutInputs = LAYOUTS.map((l) => h('input', {
      type: 'radio', name: 'live-layout', id: `live-layout-${l.id}`, value: l.id,
      onchange: () => this.setLayout(l.id),
    }));
    this.layoutBox = h('fieldset', { class: 'live-layouts' },
      h('legend', {}, 'Layout of the stream and recording'),
      LAYOUTS.map((l, i) => h('div', { class: 'check', title: l.what },
        this.layoutInputs[i], h('label', { for: `live-layout-${l.id}` }, l.label))));

    // HLS
    this.hlsButton = h('button', { type: 'button', onclick: () => this.toggle('hls') });
    this.viewerLink = h('input', { id: 'live-viewer-link', readonly: true, onfocus: (e) => e.target.select() });
    this.viewerNote = h('p', { class: 'dim hint' });
    this.viewerRow = h('div', { class: 'live-link' },
      h('label', { for: 'live-viewer-link' }, 'Viewer link'),
      h('div', { class: 'row nowrap' }, this.viewerLink,
        h('button', {
          type: 'button', 'aria-label': 'Copy the viewer link', title: 'Copy the viewer link',
          onclick: () => copyText(this.viewerLink.value, 'Viewer link'),
        }, icon('copy', 16), 'Copy')),
      this.viewerNote);
    this.hls = section('hls', 'HLS stream',
      h('p', { class: 'dim hint' }, 'Zumzi serves the stream itself: viewers watch it in the browser at the viewer link.'),
      h('div', { class: 'row' }, this.hlsButton), this.viewerRow);

    // RTMP
    this.rtmpUrl = h('input', {
      id: 'live-rtmp-url', type: 'url', placeholder: 'rtmp://live.example.com/app/stream-key',
      autocomplete: 'off', spellcheck: false,
      onkeydown: (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          this.toggle('rtmp');
        }
      },
    });
    this.rtmpButton = h('button', { type: 'button', onclick: () => this.toggle('rtmp') });
    this.rtmpTarget = h('p', { class: 'dim hint live-target' });
    this.rtmp = section('rtmp', 'RTMP stream',
      h('div', { class: 'field' },
        h('label', { for: 'live-rtmp-url' }, 'RTMP URL (with the stream key)'), this.rtmpUrl),
      h('div', { class: 'row' }, this.rtmpButton), this.rtmpTarget);

    // Recording
    this.recordButton = h('button', { type: 'button', onclick: () => this.toggle('record') });
    this.recordingList = h('ul', { class: 'recordings', 'aria-label': 'Recordings' });
    this.recordingsNote = h('p', { class: 'dim hint' });
    this.record = section('record', 'Recording',
      h('div', { class: 'row' }, this.recordButton),
      h('h4', { class: 'recordings-title' }, 'Recordings'),
      this.recordingsNote, this.recordingList);

    return h('div', { class: 'live-panel' },
      h('h2', {}, 'Live streaming and recording'),
      this.layoutBox, this.hls.el, this.rtmp.el, this.record.el);
  }

  // The popover opens: fresh recordings and the viewer link.
  open(el) {
    if (!el.contains(this.panel)) el.replaceChildren(this.panel);
    this.paint();
    if (this.canRecord) this.loadRecordings();
    this.loadViewerLink();
  }

  paint() {
    const mod = this.canModerate;
    const rec = this.canRecord;
    const live = this.room.live;
    const hls = this.room.liveOutput('hls');
    const rtmp = this.room.liveOutput('rtmp');
    const record = this.room.liveOutput('record');

    // Badges: what everyone sees.
    const streaming = [hls, rtmp].filter((o) => o?.state === 'live');
    this.liveBadge.hidden = streaming.length === 0;
    const what = streaming.map((o) => KIND_NAMES[o.kind]).join(' and ');
    this.liveBadge.setAttribute('aria-label', `Live: this call is streamed (${what})`);
    this.liveBadge.title = `This call is streamed live (${what})`;
    this.recBadge.hidden = !record || record.state !== 'live';
    this.recBadge.setAttribute('aria-label', 'Recording: this call is recorded');
    this.recBadge.title = 'This call is being recorded';

    // The bar button.
    this.button.hidden = !rec;
    if (!rec) this.popover.close(false);
    const running = live.outputs.length > 0;
    this.button.classList.toggle('on', running);
    const label = running ? `Live streaming and recording (${live.outputs.map((o) => KIND_NAMES[o.kind]).join(', ')} on)` : 'Live streaming and recording';
    this.button.setAttribute('aria-label', label);
    this.button.title = label;

    // The panel.
    this.layoutBox.hidden = !mod;
    // The choice on its way stays checked until the server answers.
    const layout = this.pendingLayout || live.layout;
    for (const input of this.layoutInputs) {
      input.checked = input.value === layout;
      input.disabled = this.busy.has('layout');
    }
    this.hls.el.hidden = !mod;
    this.rtmp.el.hidden = !mod;
    this.record.el.hidden = !rec;
    this.paintKind('hls', this.hls, this.hlsButton, hls, 'Start HLS stream', 'Stop HLS stream');
    this.paintKind('rtmp', this.rtmp, this.rtmpButton, rtmp, 'Start RTMP stream', 'Stop RTMP stream');
    this.paintKind('record', this.record, this.recordButton, record, 'Start recording', 'Stop recording');
    this.rtmpUrl.disabled = !!rtmp || this.busy.has('rtmp');
    // The server shows the target with its stream key masked.
    this.rtmpTarget.textContent = rtmp?.target ? `Pushing to ${rtmp.target}` : '';
    this.rtmpTarget.hidden = !rtmp?.target;
    this.viewerRow.hidden = !hls;
    this.paintRecordings();
  }

  paintKind(kind, section, button, output, start, stop) {
    section.state.textContent = stateText(output, this.errors.get(kind));
    section.detail.textContent = output ? (output.state === 'retrying' && output.error) || '' : this.errors.get(kind) || '';
    section.detail.hidden = !section.detail.textContent;
    section.state.className = `live-state state-${output?.state || (this.errors.has(kind) ? 'failed' : 'off')}`;
    section.el.dataset.state = output?.state || 'off';
    button.textContent = output ? stop : start;
    button.className = output ? 'danger' : 'primary';
    button.disabled = this.busy.has(kind);
    button.setAttribute('aria-describedby', `${section.state.id} ${section.detail.id}`);
  }

  paintRecordings() {
    const list = this.recordings;
    if (this.recordingsError) this.recordingsNote.textContent = this.recordingsError;
    else if (list === null) this.recordingsNote.textContent = 'Loading…';
    else if (!list.length) this.recordingsNote.textContent = 'No recordings yet.';
    else this.recordingsNote.textContent = '';
    const key = JSON.stringify(list || []);
    if (this.recordingList.dataset.key === key) return;
    this.recordingList.dataset.key = key;
    this.recordingList.replaceChildren(...(list || []).map((r) => this.recordingItem(r)));
  }

  recordingItem(r) {
    const when = r.started_at ? new Date(r.started_at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : r.id;
    const done = r.state === 'done';
    const meta = done
      ? [formatDuration(r.duration_ms), formatSize(r.size)].filter(Boolean).join(' · ')
      : 'Recording…';
    const name = `the recording of ${when}`;
    return h('li', { class: 'recording', 'data-id': r.id, 'data-state': r.state },
      h('div', { class: 'recording-text' },
        h('span', { class: 'recording-when' }, when),
        h('span', { class: 'dim recording-meta' }, meta)),
      h('div', { class: 'recording-actions' },
        done && h('a', {
          class: 'button small', href: this.api.recordingUrl(this.roomId, r), download: `${r.id}.mp4`,
          'aria-label': `Download ${name}`,
        }, 'Download'),
        done && this.canModerate && h('button', {
          type: 'button', class: 'small danger-outline', 'aria-label': `Delete ${name}`,
          onclick: () => this.deleteRecording(r, when),
        }, 'Delete')));
  }

  // --- actions ---

  async run(what, fn) {
    if (this.busy.has(what)) return;
    this.busy.add(what);
    this.paint();
    try {
      await fn();
    } finally {
      this.busy.delete(what);
      this.paint();
    }
  }

  toggle(kind) {
    const section = this[kind];
    return this.run(kind, async () => {
      section.error.textContent = '';
      const running = this.room.liveOutput(kind);
      try {
        if (running) {
          await this.room.stopLive(kind);
          if (kind === 'record') await this.loadRecordings();
        } else {
          let url;
          if (kind === 'rtmp') {
            url = this.rtmpUrl.value.trim();
            if (!/^rtmps?:\/\/\S+$/i.test(url)) {
              section.error.textContent = 'Enter the rtmp:// (or rtmps://) URL of the stream, with its key.';
              this.rtmpUrl.focus();
              return;
            }
          }
          this.errors.delete(kind);
          await this.room.startLive(kind, { url });
          if (kind === 'hls') this.loadViewerLink();
        }
      } catch (e) {
        section.error.textContent = errorMessage(e);
      }
    });
  }

  setLayout(layout) {
    this.pendingLayout = layout;
    return this.run('layout', async () => {
      try {
        await this.room.setLiveLayout(layout);
      } catch (e) {
        toast(`Layout: ${errorMessage(e)}`, 'error');
      } finally {
        this.pendingLayout = null;
      }
    });
  }

  async loadRecordings() {
    if (!this.canRecord) return;
    try {
      this.recordings = await this.api.listRecordings(this.roomId);
      this.recordings.sort((a, b) => (b.started_at || 0) - (a.started_at || 0));
      this.recordingsError = '';
    } catch (e) {
      this.recordingsError = `Could not list the recordings: ${errorMessage(e)}`;
    }
    this.paintRecordings();
  }

  async deleteRecording(r, when) {
    if (!(await confirmDialog('Delete this recording?', `The recording of ${when} is deleted for good.`, 'Delete'))) return;
    try {
      await this.api.deleteRecording(this.roomId, r.id);
      toast('Recording deleted');
    } catch (e) {
      toast(`Could not delete it: ${errorMessage(e)}`, 'error');
    }
    await this.loadRecordings();
  }

  async loadViewerLink() {
    if (this.pin === undefined) {
      try {
        this.pin = (await this.viewerPin()) || null;
      } catch {
        this.pin = null;
      }
    }
    const base = `${location.origin}/watch/${encodeURIComponent(this.roomId)}`;
    this.viewerLink.value = this.pin ? `${base}?pin=${encodeURIComponent(this.pin)}` : base;
    this.viewerNote.textContent = this.pin
      ? `Anyone with this link signs in and watches (viewer PIN ${this.pin}); they can write in the room chat.`
      : 'Members of the room watch at this link; others need the viewer PIN from the room\u2019s owner.';
  }

  // --- news from the server ---

  // A livestatus event of the Room: {output, live}.
  // A live_status: an output changed, or (output null) the layout did,
  // here or by another moderator; paint() shows room.live as it is now.
  onStatus({ output }) {
    if (output) {
      const name = KIND_NAMES[output.kind] || output.kind;
      if (output.state === 'failed') {
        this.errors.set(output.kind, output.error || 'failed');
        if (this.canRecord) toast(`${name} failed${output.error ? `: ${output.error}` : ''}`, 'error', 8000);
      }
      if (output.state === 'live' && output.kind === 'record') toast('This call is being recorded');
      else if (output.state === 'live') toast(`This call is live (${name})`);
      else if (output.state === 'stopped' || output.state === 'done')
        toast(output.kind === 'record' ? 'Recording stopped' : `${name} stopped`);
      if (output.kind === 'record' && output.state !== 'starting' && this.popover.open) this.loadRecordings();
    }
    this.paint();
  }

  destroy() {
    this.popover.close(false);
  }
}
