// forms.js: form helpers the pages share (on top of ui.js).
import { h } from './ui.js';

let nextId = 1;

// A unique element id with a readable prefix.
export function uid(prefix) {
  return `${prefix}-${nextId++}`;
}

// A labelled field: returns {field, input}. `input` is an element made by
// the caller (input, select, textarea) or attributes for an <input>.
export function field(label, input, hint) {
  const el = input instanceof Element ? input : h('input', input);
  if (!el.id) el.id = uid('f');
  const hintEl = hint ? h('p', { class: 'hint dim', id: `${el.id}-hint` }, hint) : null;
  if (hintEl) el.setAttribute('aria-describedby', hintEl.id);
  return { field: h('div', { class: 'field' }, h('label', { for: el.id }, label), el, hintEl), input: el };
}

// A modal dialog around `form`: Enter or the primary button submits it
// through `submit()`, which resolves true to close the dialog (false keeps
// it open, showing whatever error it set). Resolves true when submitted,
// false when cancelled (Cancel, Escape).
export function formDialog(title, form, okLabel, submit, { okClass = 'primary' } = {}) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      if (box.open) box.close();
      box.remove();
      resolve(value);
    };
    if (!form.id) form.id = uid('form');
    const ok = h('button', { class: okClass, type: 'submit', form: form.id }, okLabel);
    const box = h('dialog', { class: 'dialog', 'aria-labelledby': `${form.id}-title` },
      h('h2', { id: `${form.id}-title` }, title),
      form,
      h('div', { class: 'dialog-buttons' },
        h('button', { type: 'button', onclick: () => finish(false) }, 'Cancel'),
        ok));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ok.disabled = true;
      try {
        if (await submit()) finish(true);
      } finally {
        ok.disabled = false;
      }
    });
    box.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(box);
    box.showModal();
    const first = form.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
    first?.focus();
  });
}

// A human message for an API or chat error.
export function errorText(e) {
  if (!e) return 'Something went wrong.';
  switch (e.code) {
    case 'NETWORK':
      return 'The server cannot be reached. Check your connection and try again.';
    case 'OFFLINE':
    case 'CLOSED':
      return 'Not connected to the server right now. Try again in a moment.';
    case 'RATELIMIT':
      return `Too many attempts. Try again ${waitText(e.retryAfter ?? e.retry_after)}.`;
    case 'AUTHFAIL':
      return 'Your session has expired. Please sign in again.';
    default:
      return e.message ? capitalize(e.message) : 'Something went wrong.';
  }
}

// "in 3 minutes", "in 40 seconds", "later".
export function waitText(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'later';
  if (seconds < 90) return `in ${Math.ceil(seconds)} seconds`;
  return `in ${Math.ceil(seconds / 60)} minutes`;
}

function capitalize(s) {
  s = String(s);
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

// "12.3 MB"
export function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
