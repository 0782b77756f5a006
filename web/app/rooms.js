// rooms.js: /rooms. "My rooms" (owned or joined) with the owner's PINs and
// invite links, create (name + resolution preset), edit (name, preset,
// lock), delete, leave, and join by room id + PIN. Entering a room is a
// link to /r/{room}[?pin=...], which main.js hands to conference.js.
import { Api } from '../zumzi.js';
import { errorText, field, formDialog } from './forms.js';
import { confirmDialog, copyText, formatTime, h, setChildren, toast } from './ui.js';

let presetsCache = null;

function loadPresets() {
  if (!presetsCache) presetsCache = Api.presets().catch((e) => {
    presetsCache = null;
    throw e;
  });
  return presetsCache;
}

function presetLabel(p) {
  const names = { default: 'Default', qvga: 'QVGA', vga: 'VGA', hd: 'HD', fhd: 'Full HD', '4k': '4K' };
  return `${names[p.name] || p.name} — ${p.width}×${p.height}`;
}

function presetSelect(presets, selected = 'default') {
  return h('select', { name: 'preset' },
    presets.map((p) => h('option', { value: p.name, selected: p.name === selected }, presetLabel(p))));
}

export function inviteLink(roomId, pin) {
  return `${location.origin}/r/${encodeURIComponent(roomId)}${pin ? `?pin=${encodeURIComponent(pin)}` : ''}`;
}

export function renderRooms(container, { session, signal, navigate }) {
  const api = session.api;
  const list = h('div', { class: 'room-list', 'aria-live': 'polite', 'aria-busy': 'true' });
  const createError = h('p', { class: 'error-text', role: 'alert' });
  const joinError = h('p', { class: 'error-text', role: 'alert' });

  // --- create ---
  const name = field('Room name', { name: 'name', required: true, maxlength: 128, placeholder: 'Weekly sync' });
  const presetHolder = h('div', { class: 'field' },
    h('label', { for: 'create-preset' }, 'Video quality'),
    h('select', { id: 'create-preset', disabled: true }, h('option', {}, 'Loading…')));
  const createButton = h('button', { class: 'primary', type: 'submit' }, 'Create room');
  const createForm = h('form', { class: 'card', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'New room'), name.field, presetHolder, createError,
    h('div', { class: 'row' }, createButton));
  loadPresets().then((presets) => {
    const select = presetSelect(presets);
    select.id = 'create-preset';
    presetHolder.replaceChild(select, presetHolder.querySelector('select'));
  }, (e) => {
    createError.textContent = `Could not load the presets: ${errorText(e)}`;
  });
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createError.textContent = '';
    const value = name.input.value.trim();
    if (!value) {
      createError.textContent = 'Give the room a name.';
      name.input.focus();
      return;
    }
    const preset = createForm.querySelector('#create-preset');
    createButton.disabled = true;
    try {
      const room = await api.createRoom({ name: value, ...(preset.disabled ? {} : { preset: preset.value }) });
      name.input.value = '';
      toast(`Room “${room.name}” created`);
      await refresh(room.id);
    } catch (err) {
      createError.textContent = errorText(err);
    } finally {
      createButton.disabled = false;
    }
  });

  // --- join by id + PIN ---
  const joinId = field('Room ID', { name: 'room', required: true, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'k7m2q9x4ab' });
  const joinPin = field('PIN', { name: 'pin', inputmode: 'numeric', autocomplete: 'off', placeholder: '8 digits' },
    'Not needed for your own rooms and rooms you joined before.');
  const joinForm = h('form', { class: 'card', 'aria-labelledby': 'join-title' },
    h('h2', { id: 'join-title' }, 'Join a room'), joinId.field, joinPin.field, joinError,
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, 'Join')));
  joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    joinError.textContent = '';
    // An invite link pasted whole works too.
    let id = joinId.input.value.trim();
    let pin = joinPin.input.value.trim();
    const m = /\/r\/([^/?#\s]+)(?:\?pin=(\d+))?/.exec(id);
    if (m) {
      id = decodeURIComponent(m[1]);
      pin = pin || m[2] || '';
    }
    if (!/^[A-Za-z0-9]{1,64}$/.test(id)) {
      joinError.textContent = 'Enter the room ID (or paste the invite link).';
      joinId.input.focus();
      return;
    }
    if (pin && !/^\d{4,16}$/.test(pin)) {
      joinError.textContent = 'A PIN is made of digits.';
      joinPin.input.focus();
      return;
    }
    navigate(`/r/${encodeURIComponent(id)}${pin ? `?pin=${encodeURIComponent(pin)}` : ''}`);
  });

  const page = h('div', { class: 'page rooms-page' },
    h('h1', {}, 'Rooms'),
    h('div', { class: 'rooms-layout' },
      h('section', { class: 'rooms-mine', 'aria-labelledby': 'mine-title' },
        h('h2', { id: 'mine-title' }, 'My rooms'), list),
      h('aside', { class: 'rooms-side' }, createForm, joinForm)));
  container.append(page);

  async function refresh(highlight) {
    list.setAttribute('aria-busy', 'true');
    try {
      const rooms = await api.listRooms();
      if (signal.aborted) return;
      setChildren(list, rooms.length
        ? rooms.map((r) => roomCard(r, highlight === r.id))
        : h('p', { class: 'dim empty' }, 'No rooms yet. Create one, or join with an ID and PIN.'));
    } catch (e) {
      if (signal.aborted) return;
      setChildren(list, h('p', { class: 'error-text', role: 'alert' }, `Could not load your rooms: ${errorText(e)}`),
        h('button', { type: 'button', onclick: () => refresh() }, 'Try again'));
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  function roomCard(room, highlight) {
    const owner = room.role === 'owner';
    const moderate = room.permissions.includes('moderate');
    const pinRow = (label, pin, kind) => {
      const link = inviteLink(room.id, pin);
      return h('div', { class: `pin-row pin-${kind}` },
        h('div', { class: 'pin-label' }, label),
        h('div', { class: 'pin-value' },
          h('code', { class: 'pin', 'aria-label': `${label}: ${pin.split('').join(' ')}` }, pin),
          h('button', { type: 'button', class: 'small', onclick: () => copyText(pin, label), 'aria-label': `Copy ${label}` },
            'Copy PIN')),
        h('div', { class: 'pin-link' },
          h('a', { href: link, class: 'invite-link' }, link),
          h('button', { type: 'button', class: 'small',
            onclick: () => copyText(link, `${kind === 'viewer' ? 'Viewer' : 'Participant'} invite link`),
            'aria-label': `Copy ${kind} invite link` }, 'Copy link')));
    };
    return h('article', {
      class: `card room-card${highlight ? ' highlight' : ''}`, 'data-room': room.id, 'aria-labelledby': `room-${room.id}`,
    },
    h('div', { class: 'room-head' },
      h('div', {},
        h('h3', { id: `room-${room.id}` }, room.name),
        h('p', { class: 'dim room-meta' },
          `${room.preset.toUpperCase()} ${room.width}×${room.height} · `,
          h('span', {}, owner ? 'Owner' : room.role === 'viewer' ? 'Viewer' : 'Participant'),
          ` · ID `, h('code', {}, room.id),
          room.locked ? h('span', { class: 'tag tag-locked' }, 'Locked') : null,
          ` · created ${formatTime(room.created_at)}`)),
      h('a', { class: 'button primary', href: `/r/${encodeURIComponent(room.id)}`,
        'aria-label': `Enter ${room.name}` }, 'Enter')),
    owner ? h('div', { class: 'pins' },
      pinRow('Participant PIN', room.participant_pin, 'participant'),
      pinRow('Viewer PIN', room.viewer_pin, 'viewer')) : null,
    h('div', { class: 'row room-actions' },
      owner || moderate
        ? h('button', { type: 'button', onclick: () => editRoom(room), 'aria-label': `Edit ${room.name}` }, 'Edit')
        : null,
      owner
        ? h('button', { type: 'button', class: 'danger-outline', onclick: () => deleteRoom(room),
          'aria-label': `Delete ${room.name}` }, 'Delete')
        : h('button', { type: 'button', onclick: () => leaveRoom(room), 'aria-label': `Leave ${room.name}` },
          'Leave')));
  }

  async function editRoom(room) {
    const owner = room.role === 'owner';
    const presets = owner ? await loadPresets().catch(() => null) : null;
    const nameField = field('Name', { value: room.name, maxlength: 128, required: true, disabled: !owner });
    const select = presets ? presetSelect(presets, room.preset) : null;
    const presetField = select ? field('Video quality', select) : null;
    const lock = h('input', { type: 'checkbox', id: `lock-${room.id}`, checked: room.locked,
      disabled: !room.permissions.includes('moderate') });
    const error = h('p', { class: 'error-text', role: 'alert' });
    const form = h('form', {},
      nameField.field, presetField?.field,
      h('div', { class: 'field check' }, lock, h('label', { for: lock.id }, 'Locked: nobody new may join')),
      error);
    const saved = await formDialog(`Edit “${room.name}”`, form, 'Save', async () => {
      const fields = {};
      if (owner) {
        const n = nameField.input.value.trim();
        if (!n) {
          error.textContent = 'The name cannot be empty.';
          return false;
        }
        if (n !== room.name) fields.name = n;
        if (select && select.value !== room.preset) fields.preset = select.value;
      }
      if (!lock.disabled && lock.checked !== room.locked) fields.locked = lock.checked;
      if (!Object.keys(fields).length) return true;
      try {
        await api.updateRoom(room.id, fields);
        return true;
      } catch (e) {
        error.textContent = errorText(e);
        return false;
      }
    });
    if (saved) {
      toast('Room saved');
      refresh(room.id);
    }
  }

  async function deleteRoom(room) {
    if (!(await confirmDialog('Delete room?',
      `“${room.name}” and its member list will be deleted. Invite links stop working.`, 'Delete'))) return;
    try {
      await api.deleteRoom(room.id);
      toast('Room deleted');
      refresh();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  async function leaveRoom(room) {
    if (!(await confirmDialog('Leave room?',
      `You will need a PIN to join “${room.name}” again.`, 'Leave'))) return;
    try {
      await api.leaveRoom(room.id, session.user.id);
      toast('You left the room');
      refresh();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  refresh();
  return () => {};
}
