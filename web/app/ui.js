// ui.js: the few DOM helpers every page of the web client shares. No
// framework: pages build their elements with h() and keep references.

// h('button', { class: 'primary', onclick: go, 'aria-label': 'Join' }, 'Join')
// Attributes starting with "on" become listeners; `class`, `text`, `html`
// are shortcuts; false/null/undefined attributes and children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === false || child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

// Replaces the children of `el`.
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// At most this many notices at once: when more come (ten people joining
// together), the oldest go early instead of piling up over the page.
const MAX_TOASTS = 3;

// A short notice at the bottom of the page (role=status, read by screen
// readers); kind: 'info' | 'error'. The same notice while it is still
// shown is not repeated: the one shown stays `ms` longer.
export function toast(text, kind = 'info', ms = 4000) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const className = `toast toast-${kind}`;
  let item = [...box.children].find((t) => t.textContent === text && t.className === className);
  if (item) {
    clearTimeout(item.timer);
  } else {
    item = h('div', { class: className }, text);
    box.append(item);
    while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
  }
  item.timer = setTimeout(() => item.remove(), ms);
  return item;
}

// A modal <dialog> with `content` and buttons; resolves with the value of
// the button pressed (Escape resolves null). buttons: [{label, value, class}].
export function dialog(title, content, buttons = [{ label: 'OK', value: true, class: 'primary' }]) {
  return new Promise((resolve) => {
    const box = h('dialog', { class: 'dialog', 'aria-label': title },
      h('h2', {}, title),
      h('div', { class: 'dialog-body' }, content),
      h('div', { class: 'dialog-buttons' },
        buttons.map((b) => h('button', {
          class: b.class || '', type: 'button',
          onclick: () => { box.returnValue = 'x'; box.close(); resolve(b.value); },
        }, b.label))));
    box.addEventListener('cancel', () => resolve(null));
    box.addEventListener('close', () => box.remove());
    document.body.append(box);
    box.showModal();
  });
}

// Asks a yes/no question; resolves true or false.
export async function confirmDialog(title, text, yes = 'OK') {
  const answer = await dialog(title, h('p', {}, text), [
    { label: 'Cancel', value: false },
    { label: yes, value: true, class: 'primary' },
  ]);
  return answer === true;
}

// Copies `text` to the clipboard and says so in a toast naming `what`
// ("Viewer PIN"); falls back to a selection copy where the Clipboard API
// is not allowed (insecure origins). Resolves true when it was copied.
export async function copyText(text, what = '') {
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    const area = h('textarea', { style: { position: 'fixed', opacity: '0' } });
    area.value = text;
    document.body.append(area);
    area.select();
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
    area.remove();
  }
  if (copied) toast(what ? `${what} copied` : 'Copied');
  else toast(`Could not copy${what ? ` the ${what.toLowerCase()}` : ''}: select it and copy it yourself.`, 'error', 6000);
  return copied;
}

// "3 min ago", "14:05", "Mon 14:05", "12 Mar".
export function formatTime(ms) {
  const d = new Date(ms);
  const now = new Date();
  const age = now - d;
  if (age < 60_000) return 'just now';
  if (age < 3_600_000) return `${Math.floor(age / 60_000)} min ago`;
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return hm;
  if (age < 6 * 86_400_000) return `${d.toLocaleDateString([], { weekday: 'short' })} ${hm}`;
  return d.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

// Initials for an avatar: "Ann Lee" -> "AL".
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return (words[0]?.[0] || '?').toUpperCase() + (words[1]?.[0] || '').toUpperCase();
}
