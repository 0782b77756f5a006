// people.js: the participant list of the call (a side panel tab): name,
// role, microphone and camera state, talking; per person: hide their video,
// 1-1 chat; for moderators: mute, turn off the camera, allow to publish,
// remove (after a confirmation), lock the room, let removed people back in.
import { h, initials, confirmDialog } from './ui.js';
import { icon } from './call-icons.js';

const VIEWER_PERMISSIONS = ['subscribe', 'list', 'chat_send', 'chat_receive'];

// people: [{pid, uid, name, self, role, perms, micMuted, camOff, speaking,
//           hasVideo, hidden, hasMic, hasCam}]
// state:  {moderator, locked, canList, removed: Map uid -> name}
// act:    {toggleHidden(pid), chat(uid, name), mute(pid, kind),
//          setPermissions(uid, permissions), remove(uid), lock(locked), readmit(uid)}
export function renderPeople(panel, people, state, act) {
  const list = h('ul', { class: 'people', 'aria-label': 'Participants' },
    people.map((r) => personRow(r, state.moderator, act)));
  const head = h('div', { class: 'people-head' },
    h('h2', {}, `In the call (${people.length})`),
    state.moderator && h('button', {
      type: 'button', class: `lock-btn${state.locked ? ' on' : ''}`, 'data-focus-key': 'lock',
      'aria-pressed': String(!!state.locked),
      title: state.locked ? 'Unlock the room: new members may join' : 'Lock the room: nobody new may join',
      onclick: () => act.lock(!state.locked),
    }, icon(state.locked ? 'lock' : 'unlock', 16), state.locked ? 'Unlock room' : 'Lock room'));
  const notes = [];
  if (!state.canList) notes.push(h('p', { class: 'dim' }, 'You may not see the list of participants in this room.'));
  if (state.moderator && state.removed.size) {
    notes.push(h('h3', {}, 'Removed'), h('ul', { class: 'people removed' }, [...state.removed].map(([uid, name]) =>
      h('li', { class: 'person' },
        h('span', { class: 'avatar' }, initials(name)),
        h('span', { class: 'person-text' }, h('span', { class: 'person-name' }, name)),
        h('button', {
          type: 'button', class: 'small', 'aria-label': `Let ${name} join again`, title: `Let ${name} join again`,
          'data-focus-key': `readmit:${uid}`, onclick: () => act.readmit(uid),
        }, 'Let back in')))));
  }
  // Buttons are rebuilt on every repaint: keep the keyboard focus.
  const focused = panel.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  panel.replaceChildren(head, list, ...notes);
  if (focused) panel.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
}

function personRow(r, moderator, act) {
  const owner = r.role === 'owner';
  const canPub = Array.isArray(r.perms) ? r.perms.includes('publish') : r.role !== 'viewer';
  const roleText = [
    owner ? 'Owner' : r.role === 'viewer' ? 'Viewer' : r.role === 'publisher' ? 'Participant' : r.role || '',
    Array.isArray(r.perms) && r.perms.includes('moderate') && !owner ? 'moderator' : '',
    r.role === 'viewer' && canPub ? 'may publish' : '',
  ].filter(Boolean).join(' · ');
  const btn = (key, iconName, text, onclick, extra = {}) => h('button', {
    type: 'button', class: 'icon small', 'aria-label': text, title: text, 'data-focus-key': `${r.pid}:${key}`,
    onclick, ...extra,
  }, icon(iconName, 16));
  const actions = [];
  if (!r.self) {
    if (r.hasVideo) {
      actions.push(btn('hide', r.hidden ? 'eye' : 'eyeOff', r.hidden ? `Show ${r.name}'s video` : `Hide ${r.name}'s video`,
        () => act.toggleHidden(r.pid), { 'aria-pressed': String(!!r.hidden) }));
    }
    if (r.uid) actions.push(btn('chat', 'chat', `Chat with ${r.name}`, () => act.chat(r.uid, r.name)));
    if (moderator) {
      if (r.hasMic && !r.micMuted)
        actions.push(btn('mute', 'micOff', `Mute ${r.name}'s microphone`, () => act.mute(r.pid, 'audio')));
      if (r.hasCam && !r.camOff)
        actions.push(btn('stopcam', 'camOff', `Turn off ${r.name}'s camera`, () => act.mute(r.pid, 'video')));
      if (!canPub && r.uid) {
        actions.push(btn('promote', 'userPlus', `Allow ${r.name} to publish`, () => {
          const base = Array.isArray(r.perms) ? r.perms : VIEWER_PERMISSIONS;
          act.setPermissions(r.uid, [...new Set([...base, 'publish'])]);
        }));
      }
      if (!owner && r.uid) {
        actions.push(btn('remove', 'userX', `Remove ${r.name} from the call`, async () => {
          if (await confirmDialog(`Remove ${r.name}?`, `${r.name} will be taken out of this call.`, 'Remove'))
            act.remove(r.uid);
        }, { class: 'icon small danger-text' }));
      }
    }
  }
  const mark = (on, offIcon, onIcon, offText, onText) => h('span', {
    class: `st${on ? '' : ' off'}`, role: 'img', 'aria-label': on ? onText : offText, title: on ? onText : offText,
  }, icon(on ? onIcon : offIcon, 16));
  const status = h('span', { class: 'person-status' },
    r.speaking && h('span', { class: 'talking', role: 'img', 'aria-label': 'Talking', title: 'Talking' }, icon('volume', 16)),
    (canPub || r.hasMic) && mark(!r.micMuted, 'micOff', 'mic', 'Microphone muted', 'Microphone on'),
    canPub && mark(!r.camOff, 'camOff', 'cam', 'Camera off', 'Camera on'));
  return h('li', { class: `person${r.speaking ? ' speaking' : ''}`, 'data-participant': r.pid, 'data-user': r.uid || '' },
    h('span', { class: 'avatar' }, initials(r.name)),
    h('span', { class: 'person-text' },
      h('span', { class: 'person-name' }, r.self ? `${r.name} (you)` : r.name),
      h('span', { class: 'person-role dim' }, roleText)),
    status,
    actions.length > 0 && h('span', { class: 'person-actions', role: 'group', 'aria-label': `Actions for ${r.name}` }, actions));
}
