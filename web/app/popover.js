// popover.js: a small panel above a control-bar button (role dialog, not
// modal): the button toggles it, Escape or a click elsewhere closes it.
import { h } from './ui.js';

export class Popover {
  constructor(button, title, build, onclose = () => {}) {
    this.button = button;
    this.build = build;
    this.onclose = onclose;
    this.el = h('div', { class: 'popover card', role: 'dialog', 'aria-label': title, hidden: true, tabindex: '-1' });
    button.setAttribute('aria-haspopup', 'dialog');
    button.setAttribute('aria-expanded', 'false');
    this.onDoc = (e) => {
      if (!this.el.contains(e.target) && !button.contains(e.target)) this.close(false);
    };
    this.onKey = (e) => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) {
        e.stopPropagation();
        this.close(this.el.contains(document.activeElement) || document.activeElement === button);
      }
    };
  }

  get open() {
    return !this.el.hidden;
  }

  toggle() {
    if (this.open) this.close(true);
    else this.show();
  }

  async show() {
    this.el.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    // Above the button, its right edge at the button's unless that would
    // push it off the left of the window (a button at the left end).
    const r = this.button.getBoundingClientRect();
    const width = this.el.offsetWidth;
    const left = Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8));
    this.el.style.bottom = `${Math.max(8, window.innerHeight - r.top + 8)}px`;
    this.el.style.left = `${left}px`;
    document.addEventListener('pointerdown', this.onDoc, true);
    document.addEventListener('keydown', this.onKey);
    await this.build(this.el);
    (this.el.querySelector('select, button, input') || this.el).focus();
  }

  close(refocus) {
    if (!this.open) return;
    this.el.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', this.onDoc, true);
    document.removeEventListener('keydown', this.onKey);
    this.onclose();
    if (refocus) this.button.focus();
  }
}
