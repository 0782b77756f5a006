// chat-view.js: one conversation on screen, used by the messenger and the
// in-call chat panel.
//
//   const view = mountChatView(container, { session, conversation: 'room:k7m2q9x4ab', onunread: (n) => ... });
//   view.focus(); ... view.destroy();
//
// History pages backwards as you scroll up; live messages, your own with
// their state (sending, sent, delivered, read; failed ones offer Retry);
// typing indicator; attachments (file button, drop or paste: pictures show
// their thumbnail and open full size, other files download); delete your
// own message; read receipts go out for the messages actually visible.
import { dmConversation } from '../zumzi.js';
import { errorText, formatSize } from './forms.js';
import { icon } from './icons.js';
import { confirmDialog, formatTime, h, setChildren, toast } from './ui.js';

// Its look travels with it (the conference page loads it too).
const CSS_URL = new URL('./chat.css', import.meta.url).href;
if (![...document.querySelectorAll('link[rel=stylesheet]')].some((l) => l.href === CSS_URL))
  document.head.append(h('link', { rel: 'stylesheet', href: CSS_URL }));

const PAGE = 50;
const TYPING_EVERY = 3000; // resend "typing" while typing
const TYPING_IDLE = 4000; // "stopped typing" after this long without a key
const TYPING_SHOWN = 6000; // someone else's "typing" without news expires

// options:
//   session       the signed-in session (main.js)
//   conversation  'dm:<a>:<b>' | 'group:<id>' | 'room:<id>'
//   user          instead of conversation: a user id (or {id, name}) for a
//                 1-1 conversation, started or not
//   title         shown as the view's heading (none when omitted)
//   onunread(n)   called with the number of unread messages of others
//                 whenever it changes (0 once they were seen)
//   canSend       false for a read-only view (a room member without chat_send)
// Returns {destroy(), focus(), conversation, element, unread}.
export function mountChatView(container, options) {
  const { session, title, onunread } = options;
  const chat = session.chat;
  const api = session.api;
  const me = session.user.id;
  const otherUser = options.user ? (typeof options.user === 'object' ? options.user : { id: options.user }) : null;
  const conversation = options.conversation || dmConversation(me, otherUser.id);
  if (otherUser?.name) session.learnName(otherUser.id, otherUser.name);
  const kind = conversation.split(':')[0];
  const canSend = options.canSend !== false;

  const state = {
    messages: new Map(), // id -> message
    items: new Map(), // id -> <li>
    pendingItems: new Map(), // client id -> <li>
    more: false,
    nextBefore: null,
    loadingOlder: false,
    loaded: false,
    myRead: 0,
    unread: -1,
    visible: new Set(), // ids of others' messages on screen
    typing: new Map(), // user -> timer
    typingSent: 0,
    typingIdle: null,
    readTimer: null,
    unsentRead: 0, // a read receipt that could not be sent yet
    catchingUp: false, // fetching what came while disconnected
    catchUpAgain: false,
    destroyed: false,
  };
  const askedNames = new Set(); // senders we looked the members up for
  let namesLoad = Promise.resolve(); // the member lookup on the way

  // --- DOM ---
  const list = h('ol', { class: 'chat-list' });
  const older = h('div', { class: 'chat-older' });
  const scroller = h('div', {
    class: 'chat-scroll', role: 'log', 'aria-label': title ? `Messages: ${title}` : 'Messages',
    'aria-live': 'polite', 'aria-relevant': 'additions', tabindex: '0',
  }, older, list);
  const jump = h('button', { type: 'button', class: 'chat-jump', hidden: true, onclick: () => scrollToBottom(true) },
    'New messages ↓');
  const typingLine = h('div', { class: 'chat-typing dim', 'aria-live': 'polite' });
  const fileInput = h('input', { type: 'file', multiple: true, class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  const attach = h('button', { type: 'button', class: 'icon chat-attach', 'aria-label': 'Attach a file',
    title: 'Attach a file', onclick: () => fileInput.click() }, icon('attach', 20));
  const input = h('textarea', {
    class: 'chat-input', rows: 1, placeholder: canSend ? 'Write a message…' : 'You cannot post here',
    'aria-label': 'Message', maxlength: 4096, disabled: !canSend,
  });
  const sendButton = h('button', { type: 'submit', class: 'primary chat-send', disabled: !canSend }, 'Send');
  const form = h('form', { class: 'chat-compose' }, fileInput, attach, input, sendButton);
  if (!canSend) attach.disabled = true;
  const element = h('section', { class: 'chat-view', 'data-conversation': conversation, 'aria-label': title || 'Chat' },
    title ? h('header', { class: 'chat-header' }, h('h2', {}, title)) : null,
    h('div', { class: 'chat-body' }, scroller, jump), typingLine, form);
  container.append(element);

  // --- rendering ---
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;

  function scrollToBottom(smooth = false) {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    jump.hidden = true;
  }

  function linkify(text) {
    const out = [];
    const re = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g;
    let last = 0;
    for (let m; (m = re.exec(text));) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(h('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer' }, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  function fileBlock(file) {
    if (file.thumbnail_url) {
      const img = h('img', { class: 'msg-thumb', alt: file.name, width: 120, height: 120, loading: 'lazy' });
      session.objectUrl(file.thumbnail_url).then((url) => { img.src = url; }, () => img.classList.add('broken'));
      return h('button', { type: 'button', class: 'msg-image', onclick: () => showImage(file),
        'aria-label': `Open picture ${file.name}` }, img);
    }
    return h('div', { class: 'msg-file' },
      h('span', { class: 'msg-file-icon' }, icon('file', 22)),
      h('button', { type: 'button', class: 'link-button msg-download', onclick: () => download(file),
        'aria-label': `Download ${file.name}` }, file.name),
      h('span', { class: 'dim' }, ` ${formatSize(file.size)}`));
  }

  function stateOf(m) {
    const r = chat.receipts(conversation);
    if (r.read >= m.id) return ['read', 'Read'];
    if (r.delivered >= m.id) return ['delivered', 'Delivered'];
    return ['sent', 'Sent'];
  }

  function messageItem(m) {
    const mine = m.sender === me;
    const li = h('li', { class: `msg ${mine ? 'mine' : 'theirs'}${m.deleted ? ' deleted' : ''}`, 'data-id': m.id });
    const bubble = h('div', { class: 'msg-bubble' });
    if (!mine && kind !== 'dm') {
      bubble.append(h('div', { class: 'msg-sender' }, session.nameOf(m.sender)));
      learnSender(m.sender);
    }
    if (m.deleted) {
      bubble.append(h('div', { class: 'msg-text msg-deleted' }, 'Message deleted'));
    } else {
      if (m.file) bubble.append(fileBlock(m.file));
      if (m.text) bubble.append(h('div', { class: 'msg-text' }, linkify(m.text)));
      if (m.forwarded_from) bubble.prepend(h('div', { class: 'msg-forwarded dim' }, 'Forwarded'));
    }
    const meta = h('div', { class: 'msg-meta' },
      h('time', { datetime: new Date(m.created_at).toISOString(), title: new Date(m.created_at).toLocaleString() },
        formatTime(m.created_at)));
    if (mine && !m.deleted) {
      const [s, label] = stateOf(m);
      meta.append(h('span', { class: `msg-state state-${s}`, 'data-state': s }, label),
        h('button', { type: 'button', class: 'link-button msg-delete', 'aria-label': 'Delete message',
          onclick: () => deleteMessage(m) }, 'Delete'));
    }
    bubble.append(meta);
    li.append(bubble);
    return li;
  }

  function pendingItem(item) {
    const li = h('li', { class: 'msg mine pending', 'data-client-id': item.clientId });
    const bubble = h('div', { class: 'msg-bubble' });
    if (item.file) bubble.append(fileBlock(item.file));
    if (item.text) bubble.append(h('div', { class: 'msg-text' }, linkify(item.text)));
    const meta = h('div', { class: 'msg-meta' });
    if (item.failed) {
      meta.append(h('span', { class: 'msg-state state-failed', 'data-state': 'failed', role: 'alert' },
        `Not sent: ${errorText(item.failed)}`),
      h('button', { type: 'button', class: 'link-button', onclick: () => chat.retry(item.clientId).catch(() => {}) },
        'Retry'),
      h('button', { type: 'button', class: 'link-button', onclick: () => chat.discard(item.clientId) }, 'Discard'));
    } else {
      meta.append(h('span', { class: 'msg-state state-sending', 'data-state': 'sending' }, 'Sending…'));
    }
    bubble.append(meta);
    li.append(bubble);
    return li;
  }

  // Puts a message in id order (pending ones stay last).
  function insert(m) {
    if (state.messages.has(m.id)) {
      const prev = state.messages.get(m.id);
      if (prev.deleted === m.deleted) return false;
    }
    state.messages.set(m.id, m);
    const li = messageItem(m);
    const old = state.items.get(m.id);
    state.items.set(m.id, li);
    if (old) {
      old.replaceWith(li);
    } else {
      let before = null;
      for (const el of list.children) {
        const id = Number(el.dataset.id);
        if (el.dataset.clientId || id > m.id) {
          before = el;
          break;
        }
      }
      list.insertBefore(li, before);
    }
    if (m.sender !== me && !m.deleted && m.id > state.myRead) observer.observe(li);
    return true;
  }

  function showPending(item) {
    const li = pendingItem(item);
    const old = state.pendingItems.get(item.clientId);
    state.pendingItems.set(item.clientId, li);
    if (old) old.replaceWith(li);
    else list.append(li);
  }

  function dropPending(clientId) {
    state.pendingItems.get(clientId)?.remove();
    state.pendingItems.delete(clientId);
  }

  function refreshStates() {
    for (const [id, li] of state.items) {
      const m = state.messages.get(id);
      if (m.sender !== me || m.deleted) continue;
      const span = li.querySelector('.msg-state');
      const [s, label] = stateOf(m);
      if (span && span.dataset.state !== s) {
        span.dataset.state = s;
        span.className = `msg-state state-${s}`;
        span.textContent = label;
      }
    }
  }

  function renderOlder() {
    if (!state.loaded) setChildren(older, h('span', { class: 'dim' }, 'Loading…'));
    else if (state.more)
      setChildren(older, h('button', { type: 'button', class: 'link-button', onclick: () => loadOlder() },
        state.loadingOlder ? 'Loading…' : 'Load older messages'));
    else if (state.messages.size) setChildren(older, h('span', { class: 'dim' }, 'Beginning of the conversation'));
    else setChildren(older, h('span', { class: 'dim' }, 'No messages yet. Say hello!'));
  }

  // --- unread and read receipts ---
  function countUnread() {
    let n = 0;
    for (const m of state.messages.values()) if (m.sender !== me && !m.deleted && m.id > state.myRead) n++;
    if (n !== state.unread) {
      state.unread = n;
      onunread?.(n);
    }
  }

  function viewShown() {
    if (document.visibilityState !== 'visible') return false;
    if (typeof element.checkVisibility === 'function') return element.checkVisibility();
    return element.offsetParent !== null;
  }

  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = Number(e.target.dataset.id);
      if (e.isIntersecting) state.visible.add(id);
      else state.visible.delete(id);
    }
    scheduleRead();
  }, { root: scroller, threshold: 0.5 });

  function scheduleRead() {
    if (state.readTimer || state.destroyed) return;
    state.readTimer = setTimeout(() => {
      state.readTimer = null;
      markVisibleRead();
    }, 250);
  }

  function markVisibleRead() {
    if (!viewShown() || !state.visible.size) return;
    const upTo = Math.max(...state.visible);
    if (upTo <= state.myRead) return;
    state.myRead = upTo;
    for (const [id, li] of state.items) if (id <= upTo) observer.unobserve(li);
    for (const id of [...state.visible]) if (id <= upTo) state.visible.delete(id);
    countUnread();
    session.inbox.noteRead(conversation, upTo);
    sendRead(upTo);
  }

  // Not connected: the receipt goes out on the next connection.
  function sendRead(upTo) {
    chat.markRead(conversation, upTo).then(() => {
      if (state.unsentRead <= upTo) state.unsentRead = 0;
    }, () => {
      state.unsentRead = Math.max(state.unsentRead || 0, upTo);
    });
  }

  const onVisibility = () => scheduleRead();
  document.addEventListener('visibilitychange', onVisibility);
  // Shown again after being hidden (the in-call panel): IntersectionObserver
  // reports it, and so does this.
  const resizeObserver = new ResizeObserver(() => scheduleRead());
  resizeObserver.observe(element);

  // --- history ---
  async function loadLatest() {
    try {
      if (!session.inbox.loaded) await session.inbox.refresh();
      const known = session.inbox.get(conversation);
      state.myRead = Math.max(state.myRead, known?.read_up_to || 0, chat.ownRead(conversation));
      const page = await historyPage();
      if (state.destroyed) return;
      chat.noteReceipts(conversation, page.receipts);
      const wasEmpty = !state.loaded;
      for (const m of page.messages) insert(m);
      if (wasEmpty) {
        state.more = page.more;
        state.nextBefore = page.next_before;
      }
      state.loaded = true;
      renderOlder();
      countUnread();
      if (wasEmpty) {
        for (const item of chat.pending(conversation)) showPending(item);
        const firstUnread = [...state.messages.values()].find((m) => m.sender !== me && !m.deleted && m.id > state.myRead);
        if (firstUnread && state.items.get(firstUnread.id)) {
          const li = state.items.get(firstUnread.id);
          scroller.scrollTop = Math.max(0, li.offsetTop - older.offsetHeight - 8);
        } else {
          scrollToBottom();
        }
      }
      scheduleRead();
    } catch (e) {
      if (state.destroyed) return;
      state.loaded = true;
      setChildren(older, h('p', { class: 'error-text', role: 'alert' }, `Could not load the messages: ${errorText(e)}`),
        h('button', { type: 'button', onclick: () => loadLatest() }, 'Try again'));
    }
  }

  async function historyPage(before) {
    try {
      return await api.history(conversation, { limit: PAGE, before });
    } catch (e) {
      // A 1-1 conversation without messages yet reads as empty.
      if (e.code === 'NOTFOUND' && kind === 'dm' && !before) return { messages: [], more: false, next_before: null };
      throw e;
    }
  }

  async function loadOlder() {
    if (!state.more || state.loadingOlder) return;
    state.loadingOlder = true;
    renderOlder();
    try {
      const page = await historyPage(state.nextBefore);
      if (state.destroyed) return;
      chat.noteReceipts(conversation, page.receipts);
      const height = scroller.scrollHeight;
      const top = scroller.scrollTop;
      for (const m of page.messages) insert(m);
      state.more = page.more;
      state.nextBefore = page.next_before;
      // Keep what was on screen where it was.
      scroller.scrollTop = top + (scroller.scrollHeight - height);
      countUnread();
    } catch (e) {
      toast(`Could not load older messages: ${errorText(e)}`, 'error');
    } finally {
      state.loadingOlder = false;
      renderOlder();
    }
  }

  // Back after a drop: what was sent meanwhile (by others, and from this
  // user's other devices, which no live event brings) comes page by page
  // after the newest message on screen; what is shown already stays once.
  async function catchUp() {
    if (state.catchingUp) {
      state.catchUpAgain = true;
      return;
    }
    state.catchingUp = true;
    try {
      do {
        state.catchUpAgain = false;
        let after = Math.max(0, ...state.messages.keys());
        if (!after) {
          // Nothing on screen yet: the newest page, as on opening.
          state.loaded = false;
          await loadLatest();
          continue;
        }
        for (;;) {
          const page = await api.history(conversation, { limit: PAGE, after });
          if (state.destroyed) return;
          chat.noteReceipts(conversation, page.receipts);
          for (const m of page.messages) added(m);
          if (!page.more) break;
          after = page.next_after;
        }
        scheduleRead();
      } while (state.catchUpAgain && !state.destroyed);
    } catch {
      // Offline again: the next connection catches up.
    } finally {
      state.catchingUp = false;
    }
  }

  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 120 && state.more && !state.loadingOlder) loadOlder();
    if (nearBottom()) jump.hidden = true;
  });

  // --- live events ---
  function added(m) {
    const stick = nearBottom();
    if (!insert(m)) return;
    if (state.messages.size === 1) renderOlder();
    countUnread();
    if (stick || m.sender === me) scrollToBottom();
    else jump.hidden = false;
  }

  const handlers = {
    message: (e) => {
      const m = e.detail.message;
      if (m.conversation !== conversation) return;
      clearTyping(m.sender);
      added(m);
    },
    sent: (e) => {
      const { message: m, clientId } = e.detail;
      if (m.conversation !== conversation) return;
      dropPending(clientId);
      added(m);
    },
    pending: (e) => {
      const item = e.detail.item;
      if (item.conversation !== conversation) return;
      showPending(item);
      scrollToBottom();
    },
    failed: (e) => {
      if (e.detail.item.conversation === conversation) showPending(e.detail.item);
    },
    discarded: (e) => {
      if (e.detail.item.conversation === conversation) dropPending(e.detail.item.clientId);
    },
    deleted: (e) => {
      const { conversation: c, message_id: id, message } = e.detail;
      if (c !== conversation) return;
      const m = message || state.messages.get(id);
      if (!m) return;
      const { file, ...rest } = m;
      insert({ ...rest, deleted: true, text: '' });
      countUnread();
    },
    receipt: (e) => {
      const r = e.detail;
      if (r.conversation !== conversation) return;
      if (r.user === me) {
        if (r.status === 'read' && r.up_to > state.myRead) {
          state.myRead = r.up_to;
          countUnread();
        }
        return;
      }
      refreshStates();
    },
    typing: (e) => {
      const t = e.detail;
      if (t.conversation !== conversation || t.user === me) return;
      if (t.typing) setTyping(t.user);
      else clearTyping(t.user);
    },
    connected: () => {
      // Back after a drop: catch up with what happened meanwhile.
      if (state.unsentRead) sendRead(state.unsentRead);
      if (state.loaded) catchUp();
    },
  };
  for (const [type, fn] of Object.entries(handlers)) chat.addEventListener(type, fn);


  // --- typing ---
  function renderTyping() {
    const names = [...state.typing.keys()].map((u) => session.nameOf(u));
    typingLine.textContent = !names.length ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  }

  function setTyping(user) {
    clearTimeout(state.typing.get(user));
    state.typing.set(user, setTimeout(() => clearTyping(user), TYPING_SHOWN));
    renderTyping();
  }

  function clearTyping(user) {
    if (!state.typing.has(user)) return;
    clearTimeout(state.typing.get(user));
    state.typing.delete(user);
    renderTyping();
  }

  function typed() {
    const now = Date.now();
    if (input.value.trim() && now - state.typingSent > TYPING_EVERY) {
      state.typingSent = now;
      chat.typing(conversation, true).catch(() => {});
    }
    clearTimeout(state.typingIdle);
    state.typingIdle = setTimeout(stoppedTyping, TYPING_IDLE);
  }

  function stoppedTyping() {
    clearTimeout(state.typingIdle);
    if (!state.typingSent) return;
    state.typingSent = 0;
    chat.typing(conversation, false).catch(() => {});
  }

  // --- composing ---
  function grow() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  input.addEventListener('input', () => {
    grow();
    typed();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    grow();
    stoppedTyping();
    chat.send({ conversation, text }).catch(() => {
      // shown as failed in the list, with Retry
    });
    input.focus();
  });

  async function upload(files) {
    for (const file of files) {
      const placeholder = h('li', { class: 'msg mine pending' },
        h('div', { class: 'msg-bubble' }, h('div', { class: 'msg-text' }, `Uploading ${file.name}…`)));
      list.append(placeholder);
      scrollToBottom();
      try {
        const info = await api.uploadFile(file, file.name || 'file');
        placeholder.remove();
        if (state.destroyed) return;
        chat.send({ conversation, file: info.id, fileInfo: info }).catch(() => {});
      } catch (e) {
        placeholder.remove();
        toast(e.code === 'TOOLARGE' ? `${file.name} is larger than the server accepts.` : `Could not upload ${file.name}: ${errorText(e)}`,
          'error', 6000);
      }
    }
  }

  fileInput.addEventListener('change', () => {
    const files = [...fileInput.files];
    fileInput.value = '';
    if (files.length) upload(files);
  });
  input.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length && canSend) {
      e.preventDefault();
      upload(files);
    }
  });
  element.addEventListener('dragover', (e) => {
    if (!canSend || !e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    element.classList.add('dropping');
  });
  element.addEventListener('dragleave', (e) => {
    if (!element.contains(e.relatedTarget)) element.classList.remove('dropping');
  });
  element.addEventListener('drop', (e) => {
    element.classList.remove('dropping');
    if (!canSend || !e.dataTransfer?.files.length) return;
    e.preventDefault();
    upload([...e.dataTransfer.files]);
  });

  // --- actions ---
  async function deleteMessage(m) {
    if (!(await confirmDialog('Delete message?', 'It will be deleted for everyone in the conversation.', 'Delete')))
      return;
    try {
      await chat.delete(m.id);
    } catch (e) {
      toast(`Could not delete: ${errorText(e)}`, 'error');
    }
  }

  async function download(file) {
    try {
      const url = await session.objectUrl(file.url);
      const a = h('a', { href: url, download: file.name, style: { display: 'none' } });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      toast(`Could not download ${file.name}: ${errorText(e)}`, 'error');
    }
  }

  function showImage(file) {
    const img = h('img', { class: 'viewer-image', alt: file.name });
    const status = h('p', { class: 'dim' }, 'Loading…');
    const box = h('dialog', { class: 'dialog image-viewer', 'aria-label': file.name },
      h('h2', {}, file.name), status, img,
      h('div', { class: 'dialog-buttons' },
        h('button', { type: 'button', onclick: () => download(file) }, 'Download'),
        h('button', { type: 'button', class: 'primary', onclick: () => box.close() }, 'Close')));
    box.addEventListener('close', () => box.remove());
    document.body.append(box);
    box.showModal();
    session.objectUrl(file.url).then((url) => {
      img.src = url;
      status.remove();
    }, (e) => {
      status.textContent = `Could not load the picture: ${errorText(e)}`;
    });
  }

  // Names of the senders in groups and rooms: the members now, and again
  // when someone unknown writes (a member who came after, such as a
  // viewer of the room's live stream).
  function loadNames() {
    if (kind === 'group') {
      return api.getGroup(conversation.slice(6)).then((g) => {
        for (const m of g.members) session.learnName(m.user_id, m.name);
        refreshNames();
      }).catch(() => {});
    }
    if (kind === 'room') {
      return api.listMembers(conversation.slice(5)).then((members) => {
        for (const m of members) session.learnName(m.user_id, m.name);
        refreshNames();
      }).catch(() => {});
    }
    return Promise.resolve();
  }
  namesLoad = loadNames();

  // A sender without a name: the members again, once the lookup on the way
  // is over (one at a time), if that one did not name them.
  function learnSender(id) {
    if (!session.names || session.names.has(id) || askedNames.has(id)) return;
    askedNames.add(id);
    namesLoad = namesLoad.then(() => (session.names.has(id) ? null : loadNames()));
  }

  function refreshNames() {
    for (const [id, li] of state.items) {
      const m = state.messages.get(id);
      const el = li.querySelector('.msg-sender');
      if (el) el.textContent = session.nameOf(m.sender);
    }
    renderTyping();
  }

  renderOlder();
  loadLatest();

  return {
    element,
    conversation,
    get unread() {
      return Math.max(0, state.unread);
    },
    focus() {
      input.focus();
      scheduleRead();
    },
    destroy() {
      if (state.destroyed) return;
      state.destroyed = true;
      stoppedTyping();
      for (const [type, fn] of Object.entries(handlers)) chat.removeEventListener(type, fn);
      document.removeEventListener('visibilitychange', onVisibility);
      observer.disconnect();
      resizeObserver.disconnect();
      clearTimeout(state.readTimer);
      for (const t of state.typing.values()) clearTimeout(t);
      element.remove();
    },
  };
}
