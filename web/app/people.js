// people.js: the participant list of the call (a side panel tab): name,
// role, microphone and camera state, talking; per person: hide their video,
// 1-1 chat; for moderators: mute, turn off the camera, allow to publish,
// remove (after a confirmation), lock the room, let removed people back in.
import { h, initials, confirmDialog } from './ui.js';
import { icon } from './icons.js';

const VIEWER_PERMISSIONS = ['subscribe', 'list', 'chat_send', 'chat_receive'];

// people: [{pid, uid, name, self, role, perms, micMuted, camOff, speaking,
//           hasVideo, hidden, hasMic, hasCam}]
// state:  {moderator, locked, canList, removed: Map uid -> name}
// act:    {toggleHidden(pid), chat(uid, name), mute(pid, kind),
//          setPermissions(uid, permissions), remove(uid), lock(locked), readmit(uid)}
//
// The list repaints often (every `speaking` event): each part of the panel
// is rebuilt only when what it shows changed, so a button under the
// pointer stays the same element and its click is never lost.
export class PeopleList {
  constructor(panel, act) {
    this.panel = panel;
    this.act = act;
    this.head = h('div', { class: 'people-head' });
    this.list = h('ul', { class: 'people', 'aria-label': 'Participants' });
    this.notes = h('div', { class: 'people-notes' });
    this.rows = new Map(); // pid -> {el, text, status, actions, keys}
    this.keys = {};
    panel.replaceChildren(this.head, this.list, this.notes);
  }

  update(people, state) {
    const act = this.act;
    this._part('head', this.head, [people.length, state.moderator, state.locked], () => [
      h('h2', {}, `In the call (${people.length})`),
      state.moderator && h('button', {
        type: 'button', class: `lock-btn${state.locked ? ' on' : ''}`,
        'aria-pressed': String(!!state.locked),
        title: state.locked ? 'Unlock the room: new members may join' : 'Lock the room: nobody new may join',
        onclick: () => act.lock(!state.locked),
      }, icon(state.locked ? 'lock' : 'unlock', 16), state.locked ? 'Unlock room' : 'Lock room'),
    ]);
    this._part('notes', this.notes, [state.canList, state.moderator, [...state.removed]], () => [
      !state.canList && h('p', { class: 'dim' }, 'You may not see the list of participants in this room.'),
      state.moderator && state.removed.size > 0 && [h('h3', {}, 'Removed'), h('ul', { class: 'people removed' },
        [...state.removed].map(([uid, name]) => h('li', { class: 'person' },
          h('span', { class: 'avatar' }, initials(name)),
          h('span', { class: 'person-text' }, h('span', { class: 'person-name' }, name)),
          h('button', {
            type: 'button', class: 'small', 'aria-label': `Let ${name} join again`, title: `Let ${name} join again`,
            onclick: () => act.readmit(uid),
          }, 'Let back in'))))],
    ]);
    const seen = new Set();
    people.forEach((r, i) => {
      seen.add(r.pid);
      let row = this.rows.get(r.pid);
      if (!row) {
        row = { text: h('span', { class: 'person-text' }), status: h('span', { class: 'person-status' }),
          actions: h('span', { class: 'person-actions', role: 'group' }), avatar: h('span', { class: 'avatar' }), keys: {} };
        row.el = h('li', { class: 'person' }, row.avatar, row.text, row.status, row.actions);
        this.rows.set(r.pid, row);
      }
      this._row(row, r, state.moderator);
      if (this.list.children[i] !== row.el) this.list.insertBefore(row.el, this.list.children[i] || null);
    });
    for (const [pid, row] of this.rows) {
      if (seen.has(pid)) continue;
      row.el.remove();
      this.rows.delete(pid);
    }
  }

  // Rebuilds `el` with build() when `key` differs from the last one.
  _part(name, el, key, build, store = this.keys) {
    const k = JSON.stringify(key);
    if (store[name] === k) return;
    store[name] = k;
    el.replaceChildren(...build().flat().filter(Boolean));
  }

  _row(row, r, moderator) {
    const act = this.act;
    const owner = r.role === 'owner';
    const canPub = Array.isArray(r.perms) ? r.perms.includes('publish') : r.role !== 'viewer';
    row.el.classList.toggle('speaking', !!r.speaking);
    row.el.dataset.participant = r.pid;
    row.el.dataset.user = r.uid || '';
    row.avatar.textContent = initials(r.name);
    const roleText = [
      owner ? 'Owner' : r.role === 'viewer' ? 'Viewer' : r.role === 'publisher' ? 'Participant' : r.role || '',
      Array.isArray(r.perms) && r.perms.includes('moderate') && !owner ? 'moderator' : '',
      r.role === 'viewer' && canPub ? 'may publish' : '',
    ].filter(Boolean).join(' · ');
    this._part('text', row.text, [r.name, r.self, roleText], () => [
      h('span', { class: 'person-name' }, r.self ? `${r.name} (you)` : r.name),
      h('span', { class: 'person-role dim' }, roleText),
    ], row.keys);
    const mark = (on, offIcon, onIcon, offText, onText) => h('span', {
      class: `st${on ? '' : ' off'}`, role: 'img', 'aria-label': on ? onText : offText, title: on ? onText : offText,
    }, icon(on ? onIcon : offIcon, 16));
    this._part('status', row.status, [r.speaking, canPub, r.hasMic, r.micMuted, r.camOff], () => [
      r.speaking && h('span', { class: 'talking', role: 'img', 'aria-label': 'Talking', title: 'Talking' }, icon('volume', 16)),
      (canPub || r.hasMic) && mark(!r.micMuted, 'micOff', 'mic', 'Microphone muted', 'Microphone on'),
      canPub && mark(!r.camOff, 'camOff', 'cam', 'Camera off', 'Camera on'),
    ], row.keys);
    const btn = (iconName, text, onclick, extra = {}) => h('button', {
      type: 'button', class: 'icon small', 'aria-label': text, title: text, onclick, ...extra,
    }, icon(iconName, 16));
    row.actions.setAttribute('aria-label', `Actions for ${r.name}`);
    const mod = moderator && !r.self;
    this._part('actions', row.actions, [r.self, r.name, r.uid, r.hasVideo, r.hidden, mod,
      mod && r.hasMic && !r.micMuted, mod && r.hasCam && !r.camOff, mod && !canPub, r.perms, owner], () => {
      if (r.self) return [];
      const out = [];
      if (r.hasVideo) {
        out.push(btn(r.hidden ? 'eye' : 'eyeOff', r.hidden ? `Show ${r.name}'s video` : `Hide ${r.name}'s video`,
          () => act.toggleHidden(r.pid), { 'aria-pressed': String(!!r.hidden) }));
      }
      if (r.uid) out.push(btn('chat', `Chat with ${r.name}`, () => act.chat(r.uid, r.name)));
      if (!mod) return out;
      if (r.hasMic && !r.micMuted) out.push(btn('micOff', `Mute ${r.name}'s microphone`, () => act.mute(r.pid, 'audio')));
      if (r.hasCam && !r.camOff) out.push(btn('camOff', `Turn off ${r.name}'s camera`, () => act.mute(r.pid, 'video')));
      if (!canPub && r.uid) {
        out.push(btn('userPlus', `Allow ${r.name} to publish`, () => {
          const base = Array.isArray(r.perms) ? r.perms : VIEWER_PERMISSIONS;
          act.setPermissions(r.uid, [...new Set([...base, 'publish'])]);
        }));
      }
      if (!owner && r.uid) {
        out.push(btn('userX', `Remove ${r.name} from the call`, async () => {
          if (await confirmDialog(`Remove ${r.name}?`, `${r.name} will be taken out of this call.`, 'Remove'))
            act.remove(r.uid);
        }, { class: 'icon small danger-text' }));
      }
      return out;
    }, row.keys);
    row.actions.hidden = row.actions.childElementCount === 0;
  }
}
