// messenger.js: /messenger[?c=<conversation id>]. Recent conversations with
// unread badges and their last message, contacts (add by e-mail or phone,
// remove, presence dots, message, call), groups (create, members); the
// open conversation is a chat view (chat-view.js) with, for a 1-1, call
// buttons that start a call through calls.js.
import { dmConversation } from '../zumzi.js';
import { mountChatView } from './chat-view.js';
import { errorText, field, formDialog, uid } from './forms.js';
import { icon } from './icons.js';
import { confirmDialog, formatTime, h, initials, setChildren, toast } from './ui.js';

export function renderMessenger(container, { session, signal, params, calls }) {
  const api = session.api;
  const me = session.user.id;
  const state = {
    tab: 'chats',
    contacts: [],
    groups: [],
    open: null, // {conversation, view}
    presence: new Map(), // user -> {online, last_seen}
  };

  // --- layout ---
  const tabs = [
    ['chats', 'Chats'],
    ['contacts', 'Contacts'],
    ['groups', 'Groups'],
  ];
  const tabButtons = new Map();
  const panels = new Map();
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Messenger' });
  for (const [key, label] of tabs) {
    const id = `tab-${key}`;
    const button = h('button', {
      type: 'button', role: 'tab', id, 'aria-controls': `panel-${key}`, class: 'tab',
      onclick: () => selectTab(key, true),
      onkeydown: (e) => {
        const keys = tabs.map((t) => t[0]);
        const i = keys.indexOf(key);
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          selectTab(keys[(i + (e.key === 'ArrowRight' ? 1 : keys.length - 1)) % keys.length], true);
        }
      },
    }, label, key === 'chats' ? h('span', { class: 'badge tab-badge', hidden: true }) : null);
    tabButtons.set(key, button);
    tablist.append(button);
    panels.set(key, h('div', { role: 'tabpanel', id: `panel-${key}`, 'aria-labelledby': id, class: 'tab-panel' }));
  }
  const side = h('aside', { class: 'messenger-side', 'aria-label': 'Conversations and contacts' },
    tablist, ...panels.values());
  const mainPane = h('section', { class: 'messenger-main', 'aria-label': 'Conversation' });
  const page = h('div', { class: 'messenger' },
    h('h1', { class: 'sr-only' }, 'Messenger'), side, mainPane);
  container.classList.add('messenger-host');
  container.append(page);

  function selectTab(key, focus) {
    state.tab = key;
    for (const [k, b] of tabButtons) {
      b.setAttribute('aria-selected', String(k === key));
      b.tabIndex = k === key ? 0 : -1;
      panels.get(k).hidden = k !== key;
    }
    if (focus) tabButtons.get(key).focus();
  }
  selectTab('chats');

  // --- presence ---
  function presenceOf(userId) {
    return state.presence.get(userId) || null;
  }

  function presenceDot(userId) {
    const p = presenceOf(userId);
    const online = !!p?.online;
    return h('span', { class: `presence ${online ? 'online' : 'offline'}`, 'data-user': userId },
      h('span', { class: 'sr-only' }, online ? ' (online)' : ' (offline)'));
  }

  function presenceText(userId) {
    const p = presenceOf(userId);
    if (!p) return '';
    if (p.online) return 'Online';
    return p.last_seen ? `Last seen ${formatTime(p.last_seen)}` : 'Offline';
  }

  function notePresence(p) {
    if (!p?.user) return;
    state.presence.set(p.user, { online: p.online, last_seen: p.last_seen });
  }

  // --- chats ---
  const chatsPanel = panels.get('chats');
  const convList = h('ul', { class: 'conv-list', 'aria-label': 'Recent conversations' });
  chatsPanel.append(convList);

  function snippet(c) {
    const m = c.last_message;
    if (!m) return c.kind === 'group' ? 'No messages yet' : '';
    const who = m.sender === me ? 'You: ' : c.kind !== 'dm' ? `${session.nameOf(m.sender)}: ` : '';
    if (m.deleted) return `${who}Message deleted`;
    if (m.file) return `${who}${m.file.thumbnail_url ? 'Picture' : 'File'}: ${m.text || m.file.name}`;
    return who + m.text;
  }

  function avatarFor(name, userId) {
    return h('span', { class: 'avatar-wrap' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
      userId ? presenceDot(userId) : null);
  }

  function renderChats() {
    const list = session.inbox.list();
    for (const c of list) if (c.kind === 'dm' && c.presence) notePresence(c.presence);
    const total = session.inbox.unreadTotal;
    const badge = tabButtons.get('chats').querySelector('.tab-badge');
    badge.hidden = !total;
    badge.textContent = String(total);
    badge.setAttribute('aria-label', `${total} unread`);
    if (!session.inbox.loaded) {
      setChildren(convList, h('li', { class: 'dim empty' }, 'Loading…'));
      return;
    }
    if (!list.length) {
      setChildren(convList, h('li', { class: 'dim empty' },
        'No conversations yet. Add a contact and say hello, or create a group.'));
      return;
    }
    setChildren(convList, list.map((c) => {
      const current = state.open?.conversation === c.id;
      const unread = c.unread || 0;
      return h('li', {},
        h('button', {
          type: 'button', class: `conv-item${unread ? ' has-unread' : ''}`, 'data-conversation': c.id,
          'aria-current': current ? 'true' : false,
          'aria-label': `${c.name}${unread ? `, ${unread} unread` : ''}`,
          onclick: () => openConversation(c.id),
        },
        avatarFor(c.name, c.kind === 'dm' ? c.user : null),
        h('span', { class: 'conv-text' },
          h('span', { class: 'conv-name' }, c.name, c.kind === 'room' ? h('span', { class: 'tag' }, 'Room') : null),
          h('span', { class: 'conv-snippet dim' }, snippet(c))),
        h('span', { class: 'conv-side' },
          c.last_message ? h('span', { class: 'conv-time dim' }, formatTime(c.last_message.created_at)) : null,
          unread ? h('span', { class: 'badge', 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)) : null)));
    }));
  }

  const onInbox = () => {
    renderChats();
    renderHeaderPresence();
  };
  session.inbox.addEventListener('change', onInbox);
  renderChats();
  if (!session.inbox.loaded) session.inbox.refresh();

  // --- contacts ---
  const contactsPanel = panels.get('contacts');
  const addAddress = field('Add a contact', {
    type: 'text', placeholder: 'E-mail or phone number', autocomplete: 'off', name: 'contact',
  });
  const addError = h('p', { class: 'error-text', role: 'alert' });
  const addForm = h('form', { class: 'add-contact' },
    addAddress.field, addError, h('button', { type: 'submit', class: 'primary' }, 'Add contact'));
  const contactList = h('ul', { class: 'contact-list', 'aria-label': 'Contacts' });
  contactsPanel.append(addForm, contactList);

  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    addError.textContent = '';
    const address = addAddress.input.value.trim();
    if (!address) {
      addError.textContent = 'Enter an e-mail address or phone number.';
      return;
    }
    try {
      const user = await api.findUser(address);
      if (!user) {
        addError.textContent = `Nobody with ${address} uses Zumzi here yet.`;
        return;
      }
      if (user.id === me) {
        addError.textContent = 'That is you.';
        return;
      }
      await api.addContact(user.id);
      session.learnName(user.id, user.name);
      addAddress.input.value = '';
      toast(`${user.name} added to your contacts`);
      await loadContacts();
    } catch (err) {
      addError.textContent = errorText(err);
    }
  });

  async function loadContacts() {
    try {
      state.contacts = await api.listContacts();
      if (signal.aborted) return;
      for (const c of state.contacts) {
        session.learnName(c.id, c.name);
        notePresence(c.presence);
      }
      renderContacts();
      renderChats();
      renderHeaderName();
    } catch (e) {
      if (!signal.aborted)
        setChildren(contactList, h('li', { class: 'error-text' }, `Could not load contacts: ${errorText(e)}`));
    }
  }

  function renderContacts() {
    if (!state.contacts.length) {
      setChildren(contactList, h('li', { class: 'dim empty' }, 'No contacts yet.'));
      return;
    }
    setChildren(contactList, state.contacts.map((c) => h('li', { class: 'contact', 'data-user': c.id },
      avatarFor(c.name, c.id),
      h('span', { class: 'conv-text' },
        h('span', { class: 'conv-name' }, c.name),
        h('span', { class: 'conv-snippet dim' }, c.status || presenceText(c.id))),
      h('span', { class: 'contact-actions' },
        h('button', { type: 'button', class: 'icon', 'aria-label': `Message ${c.name}`, title: 'Message',
          onclick: () => openConversation(dmConversation(me, c.id)) }, icon('chat', 18)),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Video call ${c.name}`, title: 'Video call',
          onclick: () => calls.start({ id: c.id, name: c.name }, { video: true }) }, icon('cam', 18)),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${c.name} from contacts`, title: 'Remove',
          onclick: () => removeContact(c) }, icon('close', 18))))));
  }

  async function removeContact(c) {
    if (!(await confirmDialog('Remove contact?', `${c.name} will no longer be in your contacts.`, 'Remove'))) return;
    try {
      await api.removeContact(c.id);
      await loadContacts();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  // --- groups ---
  const groupsPanel = panels.get('groups');
  const groupList = h('ul', { class: 'contact-list', 'aria-label': 'Groups' });
  groupsPanel.append(
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', onclick: () => createGroup() }, 'New group')),
    groupList);

  async function loadGroups() {
    try {
      state.groups = await api.listGroups();
      if (signal.aborted) return;
      for (const g of state.groups) for (const m of g.members || []) session.learnName(m.user_id, m.name);
      renderGroups();
      renderHeaderName();
    } catch (e) {
      if (!signal.aborted) setChildren(groupList, h('li', { class: 'error-text' }, `Could not load groups: ${errorText(e)}`));
    }
  }

  function renderGroups() {
    if (!state.groups.length) {
      setChildren(groupList, h('li', { class: 'dim empty' }, 'No groups yet.'));
      return;
    }
    setChildren(groupList, state.groups.map((g) => h('li', {},
      h('button', { type: 'button', class: 'conv-item', onclick: () => openConversation(g.conversation) },
        avatarFor(g.name, null),
        h('span', { class: 'conv-text' },
          h('span', { class: 'conv-name' }, g.name),
          h('span', { class: 'conv-snippet dim' }, `${g.members.length} member${g.members.length === 1 ? '' : 's'}`))))));
  }

  function contactChecklist(exclude = new Set()) {
    const options = state.contacts.filter((c) => !exclude.has(c.id));
    if (!options.length) return { element: h('p', { class: 'dim' }, 'Add contacts first to pick members.'), picked: () => [] };
    const boxes = options.map((c) => {
      const id = uid('pick');
      return { c, input: h('input', { type: 'checkbox', id, value: c.id }), id };
    });
    return {
      element: h('fieldset', { class: 'checklist' }, h('legend', {}, 'Members'),
        boxes.map((b) => h('div', { class: 'check' }, b.input, h('label', { for: b.id }, b.c.name)))),
      picked: () => boxes.filter((b) => b.input.checked).map((b) => b.c.id),
    };
  }

  async function createGroup() {
    const name = field('Group name', { required: true, maxlength: 128 });
    const members = contactChecklist();
    const error = h('p', { class: 'error-text', role: 'alert' });
    const form = h('form', {}, name.field, members.element, error);
    let created = null;
    const ok = await formDialog('New group', form, 'Create', async () => {
      const n = name.input.value.trim();
      if (!n) {
        error.textContent = 'Give the group a name.';
        return false;
      }
      try {
        created = await api.createGroup({ name: n, members: members.picked() });
        return true;
      } catch (e) {
        error.textContent = errorText(e);
        return false;
      }
    });
    if (ok && created) {
      await loadGroups();
      session.inbox.refresh();
      openConversation(created.conversation);
    }
  }

  async function groupMembers(groupId) {
    let group;
    try {
      group = await api.getGroup(groupId);
    } catch (e) {
      toast(errorText(e), 'error');
      return;
    }
    const mine = group.members.find((m) => m.user_id === me);
    const admin = mine && (mine.role === 'admin' || mine.role === 'owner');
    const error = h('p', { class: 'error-text', role: 'alert' });
    const rows = group.members.map((m) => h('li', { class: 'member' },
      h('span', {}, m.name, m.user_id === me ? ' (you)' : ''),
      h('span', { class: 'dim' }, ` ${m.role}`),
      admin && m.role !== 'owner' && m.user_id !== me
        ? h('span', { class: 'member-actions' },
          h('button', { type: 'button', class: 'small', 'aria-label': `${m.role === 'admin' ? 'Make member' : 'Make admin'}: ${m.name}`,
            onclick: async () => {
              try {
                await api.setGroupMemberRole(groupId, m.user_id, m.role === 'admin' ? 'member' : 'admin');
                box.close();
                groupMembers(groupId);
              } catch (e) {
                error.textContent = errorText(e);
              }
            } }, m.role === 'admin' ? 'Make member' : 'Make admin'),
          h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${m.name}`,
            onclick: async () => {
              try {
                await api.removeGroupMember(groupId, m.user_id);
                box.close();
                groupMembers(groupId);
              } catch (e) {
                error.textContent = errorText(e);
              }
            } }, 'Remove'))
        : null));
    const present = new Set(group.members.map((m) => m.user_id));
    const candidates = state.contacts.filter((c) => !present.has(c.id));
    const addSelect = h('select', { id: uid('add-member') },
      candidates.map((c) => h('option', { value: c.id }, c.name)));
    const addRow = admin && candidates.length
      ? h('div', { class: 'row' },
        h('label', { for: addSelect.id, class: 'sr-only' }, 'Contact to add'), addSelect,
        h('button', { type: 'button', onclick: async () => {
          try {
            await api.addGroupMember(groupId, addSelect.value);
            box.close();
            groupMembers(groupId);
          } catch (e) {
            error.textContent = errorText(e);
          }
        } }, 'Add'))
      : null;
    const leave = mine?.role === 'owner'
      ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmDialog('Delete group?', `“${group.name}” and its messages will be deleted for everyone.`, 'Delete')))
          return;
        try {
          await api.deleteGroup(groupId);
          box.close();
          closeConversation();
          loadGroups();
          session.inbox.refresh();
        } catch (e) {
          error.textContent = errorText(e);
        }
      } }, 'Delete group')
      : h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmDialog('Leave group?', `You will no longer get the messages of “${group.name}”.`, 'Leave')))
          return;
        try {
          await api.removeGroupMember(groupId, me);
          box.close();
          closeConversation();
          loadGroups();
          session.inbox.refresh();
        } catch (e) {
          error.textContent = errorText(e);
        }
      } }, 'Leave group');
    const box = h('dialog', { class: 'dialog', 'aria-label': `Members of ${group.name}` },
      h('h2', {}, `Members of ${group.name}`),
      h('ul', { class: 'member-list' }, rows), addRow, error,
      h('div', { class: 'dialog-buttons' }, leave,
        h('button', { type: 'button', class: 'primary', onclick: () => box.close() }, 'Close')));
    box.addEventListener('close', () => box.remove());
    document.body.append(box);
    box.showModal();
  }

  // --- the open conversation ---
  let headerPresence = null;

  function nameOfConversation(id) {
    const c = session.inbox.get(id);
    if (c) return c.name;
    if (id.startsWith('dm:')) {
      const other = id.slice(3).split(':').find((u) => u !== me);
      return session.nameOf(other);
    }
    if (id.startsWith('group:')) return state.groups.find((g) => g.conversation === id)?.name || 'Group';
    return 'Conversation';
  }

  // The open conversation's name, once the inbox or the contacts know it.
  function renderHeaderName() {
    const el = mainPane.querySelector('.chat-top h2');
    if (!el || !state.open) return;
    const name = nameOfConversation(state.open.conversation);
    if (el.textContent !== name) {
      el.textContent = name;
      const avatar = mainPane.querySelector('.chat-top .avatar');
      if (avatar) avatar.textContent = initials(name);
      for (const b of mainPane.querySelectorAll('.chat-top [data-label]'))
        b.setAttribute('aria-label', `${b.dataset.label} ${name}`);
    }
  }

  function renderHeaderPresence() {
    renderHeaderName();
    if (!headerPresence || !state.open?.other) return;
    const other = state.open.other;
    headerPresence.textContent = presenceText(other);
    const dot = mainPane.querySelector('.chat-top .presence');
    if (dot) dot.replaceWith(presenceDot(other));
  }

  function closeConversation() {
    state.open?.view.destroy();
    state.open = null;
    headerPresence = null;
    setChildren(mainPane, h('div', { class: 'messenger-empty' },
      h('h2', {}, 'Messenger'),
      h('p', { class: 'dim' }, 'Pick a conversation, or a contact to write to.')));
    mainPane.classList.remove('has-conversation');
    page.classList.remove('conversation-open');
    history.replaceState(null, '', '/messenger');
    renderChats();
  }

  function openConversation(id) {
    if (state.open?.conversation === id) {
      state.open.view.focus();
      return;
    }
    state.open?.view.destroy();
    const kind = id.split(':')[0];
    const other = kind === 'dm' ? id.slice(3).split(':').find((u) => u !== me) : null;
    if (kind === 'dm' && (!other || other === me)) {
      toast('No such conversation', 'error');
      return;
    }
    const name = nameOfConversation(id);
    headerPresence = other ? h('span', { class: 'dim chat-presence' }) : null;
    const actions = [];
    if (other) {
      actions.push(
        h('button', { type: 'button', class: 'icon', 'aria-label': `Voice call ${name}`, title: 'Voice call',
          'data-label': 'Voice call', onclick: () => calls.start({ id: other, name: session.nameOf(other) }, { video: false }) }, icon('phone', 18)),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Video call ${name}`, title: 'Video call',
          'data-label': 'Video call',
          onclick: () => calls.start({ id: other, name: session.nameOf(other) }, { video: true }) }, icon('cam', 18)));
    } else if (kind === 'group') {
      actions.push(h('button', { type: 'button', onclick: () => groupMembers(id.slice(6)) }, 'Members'));
    } else if (kind === 'room') {
      actions.push(h('a', { class: 'button', href: `/r/${encodeURIComponent(id.slice(5))}` }, 'Enter room'));
    }
    const top = h('header', { class: 'chat-top' },
      h('button', { type: 'button', class: 'icon back-button', 'aria-label': 'Back to the list',
        onclick: () => closeConversation() }, icon('back', 18)),
      other ? avatarFor(name, other) : avatarFor(name, null),
      h('div', { class: 'chat-top-text' }, h('h2', {}, name), headerPresence),
      h('div', { class: 'chat-top-actions' }, actions));
    const holder = h('div', { class: 'chat-holder' });
    setChildren(mainPane, top, holder);
    mainPane.classList.add('has-conversation');
    page.classList.add('conversation-open');
    const view = mountChatView(holder, { session, conversation: id });
    state.open = { conversation: id, view, other };
    history.replaceState(null, '', `/messenger?c=${encodeURIComponent(id)}`);
    renderChats();
    renderHeaderPresence();
    // Someone who is neither a contact nor in the recent list yet.
    if (other && !session.inbox.get(id) && !session.names.has(other))
      session.fetchName(other).then(() => renderHeaderName());
    if (other && !presenceOf(other))
      session.chat.presence([other]).then((list) => {
        for (const p of list) notePresence(p);
        renderHeaderPresence();
      }).catch(() => {});
    view.focus();
  }

  // --- live updates ---
  const onPresence = (e) => {
    notePresence(e.detail);
    for (const dot of page.querySelectorAll(`.presence[data-user="${CSS.escape(e.detail.user)}"]`))
      dot.replaceWith(presenceDot(e.detail.user));
    if (state.tab === 'contacts') renderContacts();
    renderHeaderPresence();
  };
  const onGroups = (e) => {
    loadGroups();
    if (e.type === 'groupdeleted' && state.open?.conversation === `group:${e.detail.group_id}`) {
      toast('This group was deleted.');
      closeConversation();
    }
  };
  // Back after a drop: presence may have changed meanwhile.
  const onConnected = () => {
    loadContacts();
    const other = state.open?.other;
    if (other)
      session.chat.presence([other]).then((list) => {
        for (const p of list) notePresence(p);
        renderHeaderPresence();
      }).catch(() => {});
  };
  session.chat.addEventListener('presence', onPresence);
  session.chat.addEventListener('groupupdated', onGroups);
  session.chat.addEventListener('groupdeleted', onGroups);
  session.chat.addEventListener('connected', onConnected);

  loadContacts();
  loadGroups();
  const wanted = params.get('c');
  if (wanted) openConversation(wanted);
  else closeConversation();

  return () => {
    state.open?.view.destroy();
    session.inbox.removeEventListener('change', onInbox);
    session.chat.removeEventListener('presence', onPresence);
    session.chat.removeEventListener('groupupdated', onGroups);
    session.chat.removeEventListener('groupdeleted', onGroups);
    session.chat.removeEventListener('connected', onConnected);
    container.classList.remove('messenger-host');
  };
}
