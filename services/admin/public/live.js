// Live updates for the admin page, the only script it has. Each element with data-live="URL"
// opens a Server-Sent Events stream (EventSource) on URL:
//   event "rows": the element's new content (HTML the server rendered and escaped), skipped while
//                 keyboard focus is inside the element so a Tab is never lost;
//   event "line": one more item appended (the log tail), the oldest dropped past data-max items.
// Everything works without this script, minus the live part.
'use strict';
for (const el of document.querySelectorAll('[data-live]')) {
  const source = new EventSource(el.getAttribute('data-live'));
  const max = Number(el.getAttribute('data-max') || '1000');
  source.addEventListener('rows', (event) => {
    if (el.contains(document.activeElement)) return;
    el.innerHTML = event.data;
  });
  source.addEventListener('line', (event) => {
    const holder = document.createElement('tbody');
    holder.innerHTML = event.data;
    for (const row of [...holder.children]) el.appendChild(row);
    while (el.children.length > max) el.firstElementChild.remove();
    el.setAttribute('data-lines', String(el.children.length));
  });
  el.setAttribute('aria-live', 'off');
}
