// Server-sent events read from a fetch() body: EventSource cannot POST nor send a bearer token.
// Follows the WHATWG parsing rules: `event:`/`data:` fields per line, a blank line dispatches, `:` lines
// are comments (keep-alives). Data is parsed as JSON when it is JSON.

export async function* readServerSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A chunk ending in "\r" may be half of "\r\n": keep it, or it would read as an extra blank line.
      const held = buffer.endsWith('\r') ? '\r' : '';
      const lines = buffer.slice(0, buffer.length - held.length).split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      for (const line of lines) {
        if (line === '') {
          if (data.length) yield toEvent(type, data.join('\n'));
          type = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') type = fieldValue;
        else if (name === 'data') data.push(fieldValue);
      }
    }
    if (data.length) yield toEvent(type, data.join('\n'));
  } finally {
    reader.releaseLock();
  }
}

function toEvent(type, raw) {
  let data = raw;
  try {
    data = JSON.parse(raw);
  } catch {
    data = { text: raw };
  }
  // Servers that send only `data:` lines name the event inside it.
  const name = type || (data && typeof data === 'object' && (data.event || data.type)) || 'message';
  return { type: name, data };
}
