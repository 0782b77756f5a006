// calls.js: 1-1 calls for the whole app (docs/protocol.md, "Calls"): the
// incoming-call dialog (accept or decline), the outgoing "Calling…" dialog,
// and entering the call's room (/r/{room}, shown by conference.js) once it
// is answered. A call ending on the other side takes us out of its room.
import { errorText } from './forms.js';
import { h, initials, toast } from './ui.js';

const ENDED = {
  rejected: (name) => `${name} declined the call.`,
  busy: (name) => `${name} is busy.`,
  unavailable: (name) => `${name} is not online.`,
  missed: () => 'No answer.',
  cancelled: () => 'The call was cancelled.',
  hangup: () => 'The call ended.',
  disconnected: (name) => `The call ended: ${name} lost the connection.`,
};

export class CallManager {
  constructor(session, { navigate, currentPath }) {
    this.session = session;
    this.navigate = navigate;
    this.currentPath = currentPath;
    // The one call we take part in: {call, other: {id, name}, outgoing,
    // answered, room, returnPath, box}.
    this.active = null;
    const chat = session.chat;
    this._handlers = {
      incomingcall: (e) => this._incoming(e.detail),
      callringing: (e) => this._ringing(e.detail),
      callanswered: (e) => this._answered(e.detail),
      callended: (e) => this._ended(e.detail),
    };
    for (const [type, fn] of Object.entries(this._handlers)) chat.addEventListener(type, fn);
  }

  destroy() {
    for (const [type, fn] of Object.entries(this._handlers)) this.session.chat.removeEventListener(type, fn);
    if (this.active) this.session.chat.hangup(this.active.call.id).catch(() => {});
    this._closeBox();
    this.active = null;
  }

  // The call whose room this is (null for an ordinary room).
  callForRoom(roomId) {
    return this.active && this.active.room === roomId ? this.active.call : null;
  }

  returnPath(call) {
    return this.active?.call.id === call.id ? this.active.returnPath : '/messenger';
  }

  // Calls `user` ({id, name}); video or voice only.
  async start(user, { video = true } = {}) {
    if (this.active) {
      toast('You are already in a call.', 'error');
      return;
    }
    const placeholder = { call: { id: null }, other: user, outgoing: true, returnPath: this.currentPath() };
    this.active = placeholder;
    this._showOutgoing(user, video);
    try {
      const call = await this.session.chat.call(user.id, { video });
      if (this.active !== placeholder) {
        // Cancelled while the request was on its way.
        this.session.chat.hangup(call.id).catch(() => {});
        return;
      }
      placeholder.call = call;
      if (placeholder.endedEarly) this._ended(placeholder.endedEarly);
    } catch (e) {
      if (this.active === placeholder) this.active = null;
      this._closeBox();
      toast(e.code === 'BUSY' ? 'You are already in a call.' : `Could not call: ${errorText(e)}`, 'error');
    }
  }

  hangup(callId) {
    if (!callId) return;
    if (this.active?.call.id === callId) this.active = null;
    this.session.chat.hangup(callId).catch(() => {});
  }

  // --- events ---

  _incoming({ call, caller }) {
    this.session.learnName(caller.id, caller.name);
    if (this.active) {
      // One call at a time: tell the caller we are busy.
      this.session.chat.reject(call.id, { busy: true }).catch(() => {});
      return;
    }
    this.active = { call, other: caller, outgoing: false, returnPath: this.currentPath() };
    this.session.chat.ringing(call.id).catch(() => {});
    this._showIncoming(call, caller);
  }

  _ringing({ call: callId }) {
    if (this.active?.call.id === callId && this.active.outgoing) {
      const status = this.active.box?.querySelector('.call-status');
      if (status) status.textContent = 'Ringing…';
    }
  }

  _answered({ call: callId, room }) {
    const a = this.active;
    if (!a || a.call.id !== callId) return;
    if (!a.outgoing && !a.answeredHere) {
      // Another device of ours took it.
      this._closeBox();
      this.active = null;
      toast('The call was answered on another device.');
      return;
    }
    a.room = room;
    this._closeBox();
    this.navigate(`/r/${encodeURIComponent(room)}`);
  }

  _ended(detail) {
    const { call: callId, reason, room } = detail;
    const a = this.active;
    if (a && a.outgoing && a.call.id === null) {
      a.endedEarly = detail; // before call_started came back
      return;
    }
    if (!a || a.call.id !== callId) return;
    this.active = null;
    this._closeBox();
    const name = a.other?.name || 'The other side';
    const text = (ENDED[reason] || (() => 'The call ended.'))(name);
    // We hung up ourselves: no notice needed.
    if (!(reason === 'cancelled' && a.outgoing && a.cancelledHere)) toast(text, reason === 'hangup' ? 'info' : 'error');
    const here = location.pathname.replace(/\/$/, '');
    if (room && here === `/r/${room}`) {
      // Out of the call's room (conference.js gets the route's abort).
      this.session.client?.rooms.get(room)?.leave().catch(() => {});
      this.navigate(a.returnPath || '/messenger', { replace: true });
    }
  }

  // --- dialogs ---

  _closeBox() {
    const box = this.active?.box || this._box;
    this._box = null;
    if (this.active) this.active.box = null;
    if (box) {
      if (box.open) box.close();
      box.remove();
    }
  }

  _dialog(label, ...children) {
    this._closeBox();
    const box = h('dialog', { class: 'dialog call-dialog', role: 'alertdialog', 'aria-label': label }, ...children);
    box.addEventListener('cancel', (e) => e.preventDefault()); // answer with the buttons
    document.body.append(box);
    box.showModal();
    this._box = box;
    if (this.active) this.active.box = box;
    return box;
  }

  _showIncoming(call, caller) {
    const kind = call.video ? 'Video call' : 'Voice call';
    const accept = h('button', {
      class: 'primary', type: 'button',
      onclick: async () => {
        const a = this.active;
        if (!a || a.call.id !== call.id) return;
        a.answeredHere = true;
        accept.disabled = true;
        try {
          await this.session.chat.answer(call.id);
        } catch (e) {
          a.answeredHere = false;
          this._closeBox();
          this.active = null;
          toast(`Could not answer: ${errorText(e)}`, 'error');
        }
      },
    }, 'Accept');
    const decline = h('button', {
      class: 'danger', type: 'button',
      onclick: () => {
        this._closeBox();
        this.active = null;
        this.session.chat.reject(call.id).catch(() => {});
      },
    }, 'Decline');
    this._dialog(`${kind} from ${caller.name}`,
      h('div', { class: 'call-who' },
        h('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(caller.name)),
        h('div', {}, h('h2', {}, caller.name), h('p', { class: 'call-status dim' }, `${kind}…`))),
      h('div', { class: 'dialog-buttons' }, decline, accept));
    accept.focus();
  }

  _showOutgoing(user, video) {
    const cancel = h('button', {
      class: 'danger', type: 'button',
      onclick: () => {
        const a = this.active;
        if (!a) return;
        a.cancelledHere = true;
        this._closeBox();
        this.active = null;
        if (a.call.id) this.session.chat.hangup(a.call.id).catch(() => {});
      },
    }, 'Cancel call');
    this._dialog(`Calling ${user.name}`,
      h('div', { class: 'call-who' },
        h('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(user.name)),
        h('div', {}, h('h2', {}, user.name),
          h('p', { class: 'call-status dim', 'aria-live': 'polite' }, video ? 'Calling (video)…' : 'Calling…'))),
      h('div', { class: 'dialog-buttons' }, cancel));
    cancel.focus();
  }
}
