// Driving the Summarize tab as a person does, shared by its browser test and
// bench/profile_beam.mjs.

export const sel = (id) => `#summarize [data-testid=${id}]`;

// Sets an input, text area or select as typing or choosing would, firing input and change.
export async function set(page, id, value) {
  await page.locator(sel(id)).evaluate((el, v) => {
    const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : el.tagName === 'SELECT' ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, String(v));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

// Clicks Summarize and waits until the page is done (a new summary or an error).
export async function summarize(page) {
  await page.locator(sel('summary')).evaluate((el) => { el.dataset.stale = '1'; });
  await page.locator(sel('summarize')).click({ timeout: 180_000 });
  await page.waitForFunction(() => {
    const btn = document.querySelector('#summarize [data-testid=summarize]');
    const err = document.querySelector('#summarize [data-testid=error]').textContent.trim();
    const words = document.querySelectorAll('#summarize [data-testid=summary] [data-pgen]').length;
    return !btn.disabled && (err !== '' || words > 0);
  }, null, { timeout: 540_000, polling: 250 });
}
