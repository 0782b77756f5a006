// side-panel.js: the call's side panel. Tabs: the participant list, the
// room chat and 1-1 chats, each chat a mountChatView() of ./chat-view.js
// (loaded on demand: without that module, or without session.chat, the tab
// says "Chat unavailable"), with unread badges.
import { h } from './ui.js';
import { icon } from './icons.js';

export class SidePanel {
  // onchange(): a tab, the visibility or an unread count changed.
  constructor({ session, onchange = () => {} }) {
    this.session = session;
    this.onchange = onchange;
    this.tabs = new Map(); // id -> tab
    this.current = null;
    this.lastChat = null;
    this.tabList = h('div', { class: 'side-tabs', role: 'tablist', 'aria-label': 'People and chats' });
    this.body = h('div', { class: 'side-body' });
    this.el = h('aside', { class: 'side', hidden: true, 'aria-label': 'Side panel' },
      h('div', { class: 'side-head' }, this.tabList,
        h('button', {
          type: 'button', class: 'icon', 'aria-label': 'Close the side panel', title: 'Close the side panel',
          onclick: () => this.show(false),
        }, icon('close', 18))),
      this.body);
  }

  get open() {
    return !this.el.hidden;
  }

  // The unread messages of every chat tab.
  get unread() {
    return [...this.tabs.values()].reduce((n, t) => n + (t.unread || 0), 0);
  }

  // A tab: `panel` (an element to show), or `chat` ({conversation, user,
  // title, canSend, refused}: a chat view is mounted into a panel of its
  // own; `refused` says why there is none).
  add(id, title, { panel = null, chat = null, closable = false } = {}) {
    const tab = { id, title, unread: 0, chat, view: null };
    tab.panel = panel || h('div', { class: 'chat-panel' });
    tab.panel.setAttribute('role', 'tabpanel');
    tab.panel.id = `side-${id.replace(/[^a-z0-9]/gi, '-')}`;
    tab.panel.hidden = true;
    tab.badge = h('span', { class: 'badge', hidden: true });
    tab.button = h('button', {
      type: 'button', role: 'tab', class: 'side-tab', 'aria-selected': 'false', 'aria-controls': tab.panel.id,
      tabindex: '-1', onclick: () => this.select(id),
    }, h('span', {}, title), tab.badge);
    tab.el = closable
      ? h('span', { class: 'side-tab-wrap' }, tab.button,
        h('button', {
          type: 'button', class: 'icon tab-close', 'aria-label': `Close the chat with ${title}`,
          title: `Close the chat with ${title}`, onclick: () => this.close(id),
        }, icon('close', 14)))
      : tab.button;
    this.tabList.append(tab.el);
    this.body.append(tab.panel);
    this.tabs.set(id, tab);
    if (chat) this._mountChat(tab);
    return tab;
  }

  async _mountChat(tab) {
    const unavailable = (why) => tab.panel.replaceChildren(
      h('p', { class: 'dim chat-unavailable' }, `Chat unavailable${why ? `: ${why}` : '.'}`));
    if (tab.chat.refused) {
      unavailable(tab.chat.refused);
      return;
    }
    let mod;
    try {
      mod = await import('./chat-view.js');
    } catch {
      unavailable();
      return;
    }
    if (typeof mod.mountChatView !== 'function' || !this.session.chat || !this.tabs.has(tab.id)) {
      if (this.tabs.has(tab.id)) unavailable();
      return;
    }
    try {
      tab.view = await mod.mountChatView(tab.panel, {
        session: this.session,
        conversation: tab.chat.conversation,
        user: tab.chat.user,
        title: tab.chat.title,
        canSend: tab.chat.canSend !== false,
        onunread: (n) => {
          tab.unread = Number(n) || 0;
          tab.badge.hidden = !tab.unread;
          tab.badge.textContent = String(tab.unread);
          this.onchange();
        },
      });
      if (this.open && this.current === tab.id) tab.view?.focus?.();
    } catch (e) {
      unavailable(e.message);
    }
  }

  select(id) {
    const tab = this.tabs.get(id);
    if (!tab) return;
    this.current = id;
    if (tab.chat) this.lastChat = id;
    for (const t of this.tabs.values()) {
      const on = t === tab;
      t.button.setAttribute('aria-selected', String(on));
      t.button.tabIndex = on ? 0 : -1;
      t.panel.hidden = !on;
    }
    if (this.open) tab.view?.focus?.();
    this.onchange();
  }

  // Opens the panel on `id`, or closes it when it shows `id` already.
  toggle(id) {
    if (this.open && this.current === id) {
      this.show(false);
      return;
    }
    this.select(id);
    this.show(true);
  }

  show(on) {
    this.el.hidden = !on;
    if (on) {
      const tab = this.tabs.get(this.current);
      if (tab?.view?.focus) tab.view.focus();
      else tab?.button.focus();
    }
    this.onchange();
  }

  close(id) {
    const tab = this.tabs.get(id);
    if (!tab) return;
    tab.view?.destroy?.();
    tab.el.remove();
    tab.panel.remove();
    this.tabs.delete(id);
    const fallback = [...this.tabs.values()].find((t) => t.chat)?.id || [...this.tabs.keys()][0];
    if (this.lastChat === id) this.lastChat = fallback;
    if (this.current === id) this.select(fallback);
    this.onchange();
  }

  destroy() {
    for (const tab of this.tabs.values()) tab.view?.destroy?.();
    this.tabs.clear();
    this.el.remove();
  }
}
