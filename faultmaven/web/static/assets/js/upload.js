// File uploads through XMLHttpRequest: fetch() cannot report upload progress, XHR's upload.onprogress can.

import { API_BASE, authHeaders, errorFromBody } from './api.js';

export function uploadWithProgress(path, formData, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', API_BASE + path);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      const body = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
        return;
      }
      const detail = typeof body.detail === 'string' ? body.detail : `${xhr.status} ${xhr.statusText}`;
      reject(errorFromBody(xhr.status, detail, body));
    });
    xhr.addEventListener('error', () => reject(new Error('The upload failed: the server could not be reached.')));
    xhr.addEventListener('abort', () => reject(new DOMException('Upload cancelled', 'AbortError')));
    xhr.send(formData);
  });
  return { done, cancel: () => xhr.abort() };
}
