// signin.js: /signin. E-mail or phone, then the one-time code the server
// delivered (docs/api.md, "Login and logout"); every refusal gets a clear
// message: wrong code (tries left), burnt or expired code, rate limits.
import { Api } from '../zumzi.js';
import { errorText, field, waitText } from './forms.js';
import { h, setChildren } from './ui.js';

const ADDRESS_KEY = 'zumzi.lastAddress';

export function renderSignin(container, { signal, onSignedIn, params }) {
  const state = { address: '', name: '' };
  const page = h('section', { class: 'page narrow signin' });
  container.append(page);
  const next = params.get('next');
  const intro = next && /^\/r\//.test(next)
    ? h('p', { class: 'dim' }, 'Sign in to join the room you were invited to.')
    : h('p', { class: 'dim' }, 'Video rooms and messages. No password: we send you a one-time code.');

  function stepAddress(message) {
    const address = field('E-mail or phone number', {
      name: 'address', type: 'text', autocomplete: 'username', required: true,
      inputmode: 'email', placeholder: 'you@example.com or +1 555 010 2030',
      value: state.address || localStorage.getItem(ADDRESS_KEY) || '',
    });
    const name = field('Your name (for a new account)', {
      name: 'name', type: 'text', autocomplete: 'name', maxlength: 128, value: state.name,
    }, 'Optional. People see this name in rooms and chats.');
    const error = h('p', { class: 'error-text', role: 'alert', id: 'signin-error' }, message || '');
    const send = h('button', { class: 'primary', type: 'submit' }, 'Send code');
    const form = h('form', { class: 'card', 'aria-label': 'Sign in', novalidate: true },
      address.field, name.field, error, h('div', { class: 'row' }, send));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const value = address.input.value.trim();
      error.textContent = '';
      if (!value) {
        error.textContent = 'Enter your e-mail address or phone number.';
        address.input.focus();
        return;
      }
      send.disabled = true;
      try {
        const r = await Api.requestCode(value, { name: name.input.value.trim() || undefined });
        if (signal.aborted) return;
        state.address = value;
        state.name = name.input.value.trim();
        state.normalised = r.address;
        state.expiresAt = r.expires_at;
        localStorage.setItem(ADDRESS_KEY, value);
        stepCode(r.resent ? 'We sent the same code again.' : '');
      } catch (err) {
        error.textContent = addressError(err);
        address.input.focus();
      } finally {
        send.disabled = false;
      }
    });
    setChildren(page, h('h1', {}, 'Sign in to Zumzi'), intro, form);
    address.input.focus();
  }

  function stepCode(notice) {
    const code = field('6-digit code', {
      name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
      maxlength: 6, pattern: '[0-9]{6}', required: true, class: 'code-input',
    });
    const error = h('p', { class: 'error-text', role: 'alert', id: 'signin-error' });
    const info = h('p', { class: 'dim', role: 'status' }, notice || '');
    const submit = h('button', { class: 'primary', type: 'submit' }, 'Sign in');
    const resend = h('button', { type: 'button', onclick: () => resendCode() }, 'Send a new code');
    const other = h('button', { type: 'button', class: 'link-button', onclick: () => stepAddress() },
      'Use a different address');
    const form = h('form', { class: 'card', 'aria-label': 'Enter the code', novalidate: true },
      h('p', {}, 'We sent a code to ', h('strong', {}, state.normalised || state.address),
        '. It is valid for a few minutes.'),
      code.field, error, info,
      h('div', { class: 'row' }, submit, resend, other));

    async function resendCode() {
      error.textContent = '';
      resend.disabled = true;
      try {
        const r = await Api.requestCode(state.address, { name: state.name || undefined });
        info.textContent = r.resent ? 'We sent the same code again.' : 'We sent a new code.';
        code.input.value = '';
        code.input.focus();
      } catch (err) {
        error.textContent = addressError(err);
      } finally {
        resend.disabled = false;
      }
    }

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const value = code.input.value.replace(/\s/g, '');
      error.textContent = '';
      info.textContent = '';
      if (!/^\d{6}$/.test(value)) {
        error.textContent = 'The code has 6 digits.';
        code.input.focus();
        return;
      }
      submit.disabled = true;
      try {
        const r = await Api.signIn(state.address, value, { name: state.name || undefined });
        if (signal.aborted) return;
        onSignedIn(r.token, r.user);
      } catch (err) {
        error.textContent = codeError(err);
        code.input.select();
        code.input.focus();
      } finally {
        submit.disabled = false;
      }
    });
    setChildren(page, h('h1', {}, 'Check your messages'), form);
    code.input.focus();
  }

  stepAddress();
}

function addressError(e) {
  if (e.code === 'BADREQUEST') {
    if (/e-?mail/i.test(e.message)) return 'That is not a valid e-mail address.';
    if (/phone/i.test(e.message)) return 'A phone number has 7 to 15 digits (a leading + is fine).';
  }
  if (e.code === 'RATELIMIT') return `Too many codes asked for. Try again ${waitText(e.retryAfter)}.`;
  return errorText(e);
}

function codeError(e) {
  switch (e.code) {
    case 'BADCODE': {
      if (/burnt|too many/i.test(e.message))
        return 'Wrong code, and that was the last try: this code no longer works. Ask for a new code.';
      const left = /tries left: (\d+)/.exec(e.message)?.[1];
      return left ? `Wrong code. ${left} ${left === '1' ? 'try' : 'tries'} left.` : 'Wrong code.';
    }
    case 'CODEEXPIRED':
      return 'This code has expired or was already used. Ask for a new code.';
    case 'RATELIMIT':
      return `Too many attempts. Try again ${waitText(e.retryAfter)}.`;
    case 'BADREQUEST':
      return /code/.test(e.message) ? 'The code has 6 digits.' : errorText(e);
    default:
      return errorText(e);
  }
}
