/*
 * upload.js: progress display for the "Upload files" page (/upload).
 *
 * Progressive enhancement only: without this script the page works as is (the
 * form is a plain multipart POST and the server redirects when done). With it,
 * the same form data (csrf_token first) is sent with XMLHttpRequest, asking for
 * JSON, so the page can show total and per-file progress and offer Cancel.
 * 201 means the files were stored and stamped: each is marked so, with a link
 * to its page; any other answer carries {"error": {"code", "message"}}, whose
 * message is shown. Before anything is sent, the chosen files are listed and
 * those the server would refuse (extension, total over the limit) are named;
 * files may be dropped on the field; leaving mid-upload asks first.
 *
 * No libraries and no inline styles: state is shown with the `hidden`
 * attribute, CSS classes and <progress> values. Loaded with `defer`.
 */
'use strict';

(function () {
  const form = document.getElementById('upload-form');
  const panel = document.getElementById('upload-progress');
  if (!form || !panel || !window.FormData || !window.XMLHttpRequest) return;

  const input = document.getElementById('files');
  const csrf = form.querySelector('input[name="csrf_token"]');
  const submit = form.querySelector('button[type="submit"]');
  const meter = panel.querySelector('.upload-meter');
  const total = document.getElementById('upload-total');
  const status = document.getElementById('upload-status');
  const list = document.getElementById('upload-files');
  const cancel = document.getElementById('upload-cancel');

  const drop = document.getElementById('upload-drop');
  const chosen = document.getElementById('upload-chosen');
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const maxSize = form.dataset.maxSize || '';
  const allowed = (form.dataset.extensions || '').split(',').filter(Boolean);
  for (const hint of form.querySelectorAll('.js-only')) hint.hidden = false;

  let xhr = null;      // the upload in flight, if any
  let rows = [];       // per selected file, in order: { item, bar, start, size }
  let lastSpoken = 0;  // time of the last status text, to keep the live region calm

  // 3200000 -> "3.2 MB" (decimal units).
  const formatBytes = (n) => {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    for (; n >= 1000 && i < units.length - 1; i += 1) n /= 1000;
    return (n >= 100 || i === 0 ? Math.round(n) : Number(n.toFixed(1))) + ' ' + units[i];
  };

  const setStatus = (text, isError) => {
    status.textContent = text;
    status.classList.toggle('alert', isError);
    status.classList.toggle('alert-error', isError);
    status.classList.remove('alert-success');
  };

  const setBusy = (busy) => {
    submit.disabled = busy;
    input.disabled = busy;
    for (const el of [meter, list, cancel]) el.hidden = !busy;
  };

  // Back to a usable form; the caller then says what happened.
  const reset = () => {
    const hadFocus = document.activeElement === cancel; // about to be hidden
    xhr = null;
    rows = [];
    list.replaceChildren();
    total.value = 0;
    setBusy(false);
    if (hadFocus) submit.focus();
  };

  // One labelled <progress> per file; returns the sum of their sizes.
  const buildRows = (files) => {
    let start = 0;
    rows = Array.from(files, (file, i) => {
      const item = document.createElement('li');
      const label = document.createElement('label');
      const bar = document.createElement('progress');
      item.className = 'upload-file';
      bar.id = 'upload-file-' + i;
      bar.max = 100;
      bar.value = 0;
      label.htmlFor = bar.id;
      label.textContent = file.name + ' (' + formatBytes(file.size) + ')'; // text, never HTML
      item.append(label, bar);
      list.append(item);
      start += file.size;
      return { item, bar, start: start - file.size, size: file.size };
    });
    return start;
  };

  // Files are sent in order: file i is done once the bytes sent reach the sizes
  // of the files before it plus its own (approximate: ignores multipart headers).
  const showProgress = (loaded, length, sum) => {
    const fraction = length > 0 ? Math.min(loaded / length, 1) : 0;
    const percent = Math.round(fraction * 100);
    const sent = fraction * sum;
    total.value = percent;
    for (const row of rows) {
      const done = row.size > 0 ? (sent - row.start) / row.size : Number(sent >= row.start);
      row.bar.value = Math.round(Math.max(0, Math.min(done, 1)) * 100);
      row.item.classList.toggle('is-done', done >= 1);
    }
    // The text keeps up with the bar; screen readers hear it every few seconds.
    const quiet = percent < 100 && Date.now() - lastSpoken < 3000;
    status.setAttribute('aria-live', quiet ? 'off' : 'polite');
    if (!quiet) lastSpoken = Date.now();
    setStatus(`${formatBytes(loaded)} of ${formatBytes(length)} (${percent}%)`, false);
  };

  // What the server would refuse from its headers alone, named before sending.
  const refusals = (files) => {
    const problems = [];
    let sum = 0;
    for (const file of files) {
      sum += file.size;
      const dot = file.name.lastIndexOf('.');
      const extension = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
      if (allowed.length > 0 && !allowed.includes(extension)) {
        problems.push(`“${file.name}” is not accepted here: ` +
          (extension ? `files ending in .${extension} are refused.` : 'files without an extension are refused.'));
      }
    }
    if (sum > maxBytes) {
      problems.push(`These files come to ${formatBytes(sum)}; this server takes at most ${maxSize} in one upload. Send fewer at a time.`);
    }
    return problems;
  };

  // The chosen files, listed with their sizes; the refused ones are marked.
  const showChosen = () => {
    chosen.replaceChildren();
    const files = Array.from(input.files || []);
    chosen.hidden = files.length === 0;
    for (const file of files) {
      const item = document.createElement('li');
      item.textContent = `${file.name} (${formatBytes(file.size)})`; // text, never HTML
      chosen.append(item);
    }
    const problems = refusals(files);
    if (problems.length > 0) setStatus(problems.join(' '), true);
    else setStatus('', false);
    panel.hidden = problems.length === 0;
    meter.hidden = true;
    list.hidden = true;
    cancel.hidden = true;
    return problems;
  };
  input.addEventListener('change', showChosen);

  // Files dropped on the field are chosen as if picked.
  if (drop && window.DataTransfer) {
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.classList.add('is-dragover');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('is-dragover'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('is-dragover');
      if (xhr || !event.dataTransfer || event.dataTransfer.files.length === 0) return;
      input.files = event.dataTransfer.files;
      showChosen();
    });
  }

  // Leaving the page would abandon the upload: the browser asks first.
  window.addEventListener('beforeunload', (event) => {
    if (!xhr) return;
    event.preventDefault();
    event.returnValue = ''; // what older browsers look for
  });

  // Stored and stamped: each file says so and links to its page.
  const showStored = (files) => {
    rows.forEach((row, i) => {
      const file = files[i];
      row.bar.value = 100;
      row.item.classList.add('is-done');
      if (!file) return;
      const link = document.createElement('a');
      link.href = `/files/${file.id}`;
      link.textContent = 'stamped: details and proofs';
      row.item.append(link);
    });
    const count = files.length === 1 ? `“${files[0].original_filename}” was` : `${files.length} files were`;
    setStatus(`${count} uploaded and stamped.`, false);
    status.classList.add('alert', 'alert-success');
    const more = document.createElement('a');
    more.href = '/dashboard';
    more.textContent = 'Go to your files';
    status.append(' ', more);
  };

  form.addEventListener('submit', (event) => {
    if (xhr || !input.files || input.files.length === 0) return; // the browser handles it
    event.preventDefault();
    if (refusals(input.files).length > 0) {
      showChosen();
      return;
    }

    const data = new FormData(form); // before disabling inputs: disabled fields are left out
    const sum = buildRows(input.files);
    const request = new XMLHttpRequest();
    xhr = request;
    request.open('POST', form.action);
    request.responseType = 'json';
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-CSRF-Token', csrf ? csrf.value : '');

    request.upload.addEventListener('progress', (e) => {
      if (request === xhr && e.lengthComputable) showProgress(e.loaded, e.total, sum);
    });
    request.upload.addEventListener('load', () => {
      if (request === xhr) setStatus('Upload complete, processing…', false);
    });
    request.addEventListener('load', () => {
      if (request !== xhr) return; // cancelled meanwhile
      if (request.status === 201) {
        xhr = null;
        const files = (request.response && request.response.files) || [];
        submit.disabled = false;
        input.disabled = false;
        cancel.hidden = true;
        form.reset();
        chosen.replaceChildren();
        chosen.hidden = true;
        return showStored(files);
      }
      const error = request.response && request.response.error;
      reset();
      setStatus(error && error.message ? error.message
        : `The upload failed (HTTP ${request.status}). Please try again.`, true);
    });
    request.addEventListener('error', () => {
      if (request !== xhr) return;
      reset();
      setStatus('The upload failed: the connection was interrupted. Please try again.', true);
    });

    lastSpoken = 0;
    panel.hidden = false;
    setBusy(true);
    setStatus('Starting upload…', false);
    request.send(data);
  });

  cancel.addEventListener('click', () => {
    if (!xhr) return;
    const request = xhr;
    xhr = null; // its remaining events are ignored
    request.abort();
    reset();
    setStatus('Upload cancelled.', false);
  });

  // Coming back with the Back button to a page kept in memory: start afresh.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) { reset(); panel.hidden = true; }
  });
})();
