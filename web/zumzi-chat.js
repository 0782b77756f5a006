// zumzi-chat.js: messaging and 1-1 calls over a connected Zumzi client
// (docs/protocol.md, "Chat" and "Calls"). An ES module with no DOM:
//
//   import { Zumzi, Chat } from '/zumzi.js';
//   const chat = new Chat(await Zumzi.connect({ token }));
//   chat.addEventListener('message', (e) => show(e.detail.message));
//   const message = await chat.send({ user: 'u_b8vqrsu7svz7qf', text: 'Lunch at 1?' });
//
// A message is kept in an outbox until the server acknowledged it (`sent`,
// stored on disk). When the connection drops, give the Chat the new client
// with attach(): what was not acknowledged is sent again with the same
// client_id, which the server deduplicates, so nothing typed is lost and
// nothing is stored twice. With `storage` (localStorage or alike) the outbox
// also survives a reload. See docs/client.md.

// The conversation id of the 1-1 conversation between two users.
export function dmConversation(a, b) {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

function chatError(code, message) {
  const e = new Error(message);
  e.name = 'ZumziError';
  e.code = code;
  return e;
}

function randomId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID().replace(/-/g, '').slice(0, 16);
  return Math.random().toString(36).slice(2, 10) + Math.random().toString(36).slice(2, 10);
}

function emit(target, type, detail) {
  target.dispatchEvent(new CustomEvent(type, { detail }));
}

const TARGETS = ['conversation', 'user', 'group', 'room'];

// The recipient fields of a send/typing frame: a conversation id string, or
// one of {conversation}, {user}, {group}, {room}.
function targetOf(target) {
  if (typeof target === 'string') return { conversation: target };
  const given = TARGETS.filter((k) => target && target[k]);
  if (given.length !== 1) throw chatError('BADREQUEST', 'name one recipient: conversation, user, group or room');
  return { [given[0]]: target[given[0]] };
}

// Events (event.detail):
//   message {message}            a new message (others', or yours from another device)
//   sent {message, clientId, duplicate}   the server stored one of yours
//   pending {item}               one of yours was queued (shown as "sending")
//   failed {item, error}         the server refused one of yours (retry() or discard())
//   discarded {item}             discard() dropped it
//   deleted {conversation, message_id}    a message was deleted for everyone
//   receipt {conversation, user, status, up_to}
//   typing {conversation, user, typing}
//   presence {user, online, last_seen}
//   synced {count}               the offline backlog of this connection is in
//   groupupdated {group}  groupdeleted {group_id}
//   incomingcall {call, caller}  callstarted {call}  callringing {call}
//   callanswered {call, room}    callended {call, reason, room}
//   connected {client}  disconnected {}
export class Chat extends EventTarget {
  // options.storage: a Storage (localStorage) to keep the outbox and the
  // receipts heard across reloads; options.storageKey: its key (default
  // per user); options.autoDelivered (default true): confirm every message
  // received with a `delivered` receipt, so the server does not send it
  // again on the next connection.
  // client may be null when the first connection is still to come: then
  // options.user (the signed-in user object) is required, and attach()
  // the client once it is there.
  constructor(client, { user = null, storage = null, storageKey = null, autoDelivered = true } = {}) {
    super();
    if (!client && !user) throw new Error('zumzi-chat: a connected Zumzi client (or options.user) is required');
    this.client = null;
    this.user = client?.user || user;
    this.autoDelivered = autoDelivered;
    this._storage = storage;
    this._key = storageKey || `zumzi.chat.${this.user?.id || 'anon'}`;
    this._prefix = randomId();
    this._counter = 0;
    this._outbox = new Map(); // client_id -> item, in send order
    this._waiters = new Map(); // client_id -> [{resolve, reject}]
    this._receipts = new Map(); // conversation -> Map user -> {delivered, read}
    this._deliveredTimer = null;
    this._toDeliver = new Map(); // conversation -> highest id to confirm
    this._onServerMessage = (e) => this._handle(e.detail);
    this._onClose = () => {
      this.client = null;
      emit(this, 'disconnected', {});
    };
    this._load();
    if (client) this.attach(client);
  }

  get connected() {
    return !!this.client && this.client.ws?.readyState === 1;
  }

  // Uses `client` (a new connection after a drop) from now on and sends
  // again every message not yet acknowledged. Call it right after
  // Zumzi.connect() resolved, before awaiting anything else, so no event
  // of the new connection is missed.
  attach(client) {
    if (this.client === client) return;
    if (this.client) this._release(this.client);
    this.client = client;
    if (client.user) this.user = client.user;
    client.addEventListener('message', this._onServerMessage);
    client.addEventListener('close', this._onClose);
    emit(this, 'connected', { client });
    for (const item of this._outbox.values()) if (!item.failed) this._transmit(item);
  }

  // Stops listening to the client (it stays open).
  close() {
    if (this.client) this._release(this.client);
    this.client = null;
    clearTimeout(this._deliveredTimer);
  }

  _release(client) {
    client.removeEventListener('message', this._onServerMessage);
    client.removeEventListener('close', this._onClose);
  }

  // --- messages ---

  // Sends a message; resolves with the stored message once the server
  // acknowledged it (after reconnections if need be), rejects when the
  // server refuses it (the item stays in the outbox as failed).
  // fields: one recipient (conversation | user | group | room), and text
  // and/or file (a file id from Api.uploadFile), or forward (a message id).
  // fields.fileInfo: the uploaded file object, kept for display only.
  send(fields) {
    const target = targetOf(fields);
    const clientId = fields.clientId || `${this._prefix}-${(++this._counter).toString(36)}`;
    const frame = { type: 'send', ...target, client_id: clientId };
    if (fields.text !== undefined && fields.text !== '') frame.text = fields.text;
    if (fields.file) frame.file = typeof fields.file === 'string' ? fields.file : fields.file.id;
    if (fields.forward) frame.forward = fields.forward;
    const item = {
      clientId,
      frame,
      conversation: this.conversationOf(target),
      text: frame.text || '',
      file: fields.fileInfo || (typeof fields.file === 'object' ? fields.file : null),
      createdAt: Date.now(),
      failed: null,
    };
    this._outbox.set(clientId, item);
    this._save();
    const done = this._wait(clientId);
    emit(this, 'pending', { item });
    this._transmit(item);
    return done;
  }

  // Unacknowledged messages (of one conversation, or all), oldest first.
  pending(conversation) {
    const all = [...this._outbox.values()];
    return conversation ? all.filter((i) => i.conversation === conversation) : all;
  }

  // Sends a failed message again.
  retry(clientId) {
    const item = this._outbox.get(clientId);
    if (!item) return Promise.reject(chatError('NOTFOUND', 'no such pending message'));
    item.failed = null;
    this._save();
    const done = this._wait(clientId);
    emit(this, 'pending', { item });
    this._transmit(item);
    return done;
  }

  // Drops a message from the outbox (it will not be sent again).
  discard(clientId) {
    const item = this._outbox.get(clientId);
    if (!item) return;
    this._outbox.delete(clientId);
    this._save();
    emit(this, 'discarded', { item });
    this._settle(clientId, 'reject', chatError('DISCARDED', 'the message was discarded'));
  }

  // Deletes one of your messages for everyone; resolves with it as it is now.
  async delete(messageId) {
    const reply = await this._request({ type: 'delete', message: messageId });
    const m = reply.message;
    emit(this, 'deleted', { conversation: m.conversation, message_id: m.id, message: m });
    return m;
  }

  // The user has read (or the device has) the conversation up to `upTo`
  // (a message id).
  markRead(conversation, upTo) {
    return this._receipt(conversation, 'read', upTo);
  }

  markDelivered(conversation, upTo) {
    return this._receipt(conversation, 'delivered', upTo);
  }

  async _receipt(conversation, status, upTo) {
    await this._request({ type: 'receipt', conversation, status, up_to: upTo });
    this._noteReceipt(conversation, this.user?.id, status, upTo);
  }

  // The receipts of the other members heard so far for a conversation:
  // {delivered, read} (the highest message ids), and per user in `users`.
  receipts(conversation) {
    const byUser = this._receipts.get(conversation) || new Map();
    let delivered = 0;
    let read = 0;
    const users = {};
    for (const [user, r] of byUser) {
      if (user === this.user?.id) continue;
      users[user] = { ...r };
      delivered = Math.max(delivered, r.delivered, r.read);
      read = Math.max(read, r.read);
    }
    return { delivered, read, users };
  }

  // Adds the others' receipts the REST API reports (a conversation's or a
  // history page's `receipts`: [{user, delivered_up_to, read_up_to}]) to
  // those heard live, so your messages show how far they got right after a
  // reload or a drop. A cursor that moved is announced as a `receipt` event.
  noteReceipts(conversation, receipts) {
    for (const r of receipts || []) {
      if (!r.user || r.user === this.user?.id) continue;
      const known = this._receipts.get(conversation)?.get(r.user) || { delivered: 0, read: 0 };
      const read = r.read_up_to || 0;
      const delivered = Math.max(r.delivered_up_to || 0, read);
      const moved = [];
      if (read > known.read) moved.push(['read', read]);
      if (delivered > known.delivered) moved.push(['delivered', delivered]);
      for (const [status, upTo] of moved) {
        this._noteReceipt(conversation, r.user, status, upTo);
        emit(this, 'receipt', { conversation, user: r.user, status, up_to: upTo });
      }
    }
  }

  // Your own read cursor as far as this client knows (0 when unknown).
  ownRead(conversation) {
    return this._receipts.get(conversation)?.get(this.user?.id)?.read || 0;
  }

  // Tells the other members you are (or stopped) typing. target: a
  // conversation id or {user | group | room | conversation}.
  typing(target, typing = true) {
    return this._request({ type: 'typing', ...targetOf(target), typing: !!typing });
  }

  // The presence of up to 200 users (your peers only):
  // [{user, online, last_seen}].
  async presence(userIds) {
    const reply = await this._request({ type: 'presence', users: userIds });
    return reply.users;
  }

  // The conversation id a recipient names.
  conversationOf(target) {
    const t = targetOf(target);
    if (t.conversation) return t.conversation;
    if (t.group) return `group:${t.group}`;
    if (t.room) return `room:${t.room}`;
    return dmConversation(this.user.id, t.user);
  }

  // --- calls ---

  // Calls a user; resolves with the call ({id, caller, callee, video, state}).
  // Then watch callringing, callanswered (join its room), callended.
  async call(userId, { video = true } = {}) {
    const reply = await this._request({ type: 'call', user: userId, video: !!video });
    emit(this, 'callstarted', { call: reply.call });
    return reply.call;
  }

  ringing(callId) {
    return this._request({ type: 'ringing', call: callId });
  }

  answer(callId) {
    return this._request({ type: 'answer', call: callId });
  }

  // busy: tell the caller you are busy rather than that you declined.
  reject(callId, { busy = false } = {}) {
    return this._request({ type: 'reject', call: callId, ...(busy ? { busy: true } : {}) });
  }

  hangup(callId) {
    return this._request({ type: 'hangup', call: callId });
  }

  // --- internals ---

  _request(frame) {
    if (!this.connected) return Promise.reject(chatError('OFFLINE', 'not connected to the server'));
    return this.client.request(frame);
  }

  _wait(clientId) {
    return new Promise((resolve, reject) => {
      if (!this._waiters.has(clientId)) this._waiters.set(clientId, []);
      this._waiters.get(clientId).push({ resolve, reject });
    });
  }

  _settle(clientId, how, value) {
    const list = this._waiters.get(clientId) || [];
    this._waiters.delete(clientId);
    for (const w of list) w[how](value);
  }

  _transmit(item) {
    const client = this.client;
    if (!client || !this.connected) return; // attach() sends it
    if (item.inFlight === client) return;
    item.inFlight = client;
    client.request(item.frame).then(
      (reply) => {
        item.inFlight = null;
        if (!this._outbox.has(item.clientId)) return;
        this._outbox.delete(item.clientId);
        this._save();
        const message = reply.message;
        emit(this, 'sent', { message, clientId: item.clientId, duplicate: !!reply.duplicate });
        this._settle(item.clientId, 'resolve', message);
      },
      (error) => {
        item.inFlight = null;
        if (!this._outbox.has(item.clientId)) return;
        // The connection went away: attach() sends it again.
        if (error.code === 'CLOSED') return;
        item.failed = { code: error.code, message: error.message };
        this._save();
        emit(this, 'failed', { item, error });
        this._settle(item.clientId, 'reject', error);
      },
    );
  }

  _handle(m) {
    if (m.id !== undefined && m.id !== null) return; // replies go to their requests
    switch (m.type) {
      case 'message': {
        const message = m.message;
        emit(this, 'message', { message });
        if (this.autoDelivered && message.sender !== this.user?.id) this._confirm(message);
        break;
      }
      case 'message_deleted':
        emit(this, 'deleted', { conversation: m.conversation, message_id: m.message_id });
        break;
      case 'receipt':
        this._noteReceipt(m.conversation, m.user, m.status, m.up_to);
        emit(this, 'receipt', { conversation: m.conversation, user: m.user, status: m.status, up_to: m.up_to });
        break;
      case 'typing':
        emit(this, 'typing', { conversation: m.conversation, user: m.user, typing: m.typing });
        break;
      case 'presence':
        emit(this, 'presence', { user: m.user, online: m.online, last_seen: m.last_seen });
        break;
      case 'synced':
        emit(this, 'synced', { count: m.count });
        break;
      case 'group_updated':
        emit(this, 'groupupdated', { group: m.group });
        break;
      case 'group_deleted':
        emit(this, 'groupdeleted', { group_id: m.group_id });
        break;
      case 'incoming_call':
        emit(this, 'incomingcall', { call: m.call, caller: m.caller });
        break;
      case 'call_ringing':
        emit(this, 'callringing', { call: m.call });
        break;
      case 'call_answered':
        emit(this, 'callanswered', { call: m.call, room: m.room });
        break;
      case 'call_ended':
        emit(this, 'callended', { call: m.call, reason: m.reason, room: m.room || null });
        break;
    }
  }

  // Delivered receipts go out in one batch per conversation.
  _confirm(message) {
    const prev = this._toDeliver.get(message.conversation) || 0;
    this._toDeliver.set(message.conversation, Math.max(prev, message.id));
    if (this._deliveredTimer) return;
    this._deliveredTimer = setTimeout(() => {
      this._deliveredTimer = null;
      const batch = [...this._toDeliver];
      this._toDeliver.clear();
      for (const [conversation, upTo] of batch)
        this.markDelivered(conversation, upTo).catch(() => {
          // unconfirmed: the server sends it again on the next connection
        });
    }, 50);
  }

  _noteReceipt(conversation, user, status, upTo) {
    if (!user) return;
    const byUser = this._receipts.get(conversation) || new Map();
    this._receipts.delete(conversation); // most recently heard last
    this._receipts.set(conversation, byUser);
    const r = byUser.get(user) || { delivered: 0, read: 0 };
    if (status === 'read') r.read = Math.max(r.read, upTo);
    r.delivered = Math.max(r.delivered, upTo);
    byUser.set(user, r);
    this._save();
  }

  _load() {
    if (!this._storage) return;
    try {
      const saved = JSON.parse(this._storage.getItem(this._key) || 'null');
      if (!saved) return;
      for (const item of saved.outbox || []) this._outbox.set(item.clientId, { ...item, inFlight: null });
      for (const [conversation, users] of Object.entries(saved.receipts || {}))
        this._receipts.set(conversation, new Map(Object.entries(users)));
    } catch {
      // a damaged entry: start afresh
    }
  }

  _save() {
    if (!this._storage) return;
    const outbox = [...this._outbox.values()].map(({ inFlight, ...item }) => item);
    // Receipts of the 300 most recently heard conversations.
    const receipts = {};
    for (const [conversation, users] of [...this._receipts].slice(-300))
      receipts[conversation] = Object.fromEntries(users);
    try {
      this._storage.setItem(this._key, JSON.stringify({ outbox, receipts }));
    } catch {
      // storage full or refused: the outbox still lives in memory
    }
  }

  // Forgets what was stored (on sign-out).
  clearStorage() {
    this._outbox.clear();
    this._receipts.clear();
    if (this._storage) this._storage.removeItem(this._key);
  }
}
