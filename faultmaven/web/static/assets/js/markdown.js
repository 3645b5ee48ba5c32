// A small, safe Markdown renderer for agent answers.
//
// Safety comes from never producing HTML: the output is DOM nodes built with createElement and text
// nodes, so `<script>`, `<img onerror>` or any other markup in an answer shows as literal text (the DOM
// escapes it, which is "escape HTML first" done by the browser). Links keep only http(s) URLs.
// Supported: headings, paragraphs, bullet and numbered lists (nested), fenced and indented code,
// inline code, bold, italic, strikethrough, links, autolinks, block quotes, rules and simple tables.
// An unclosed code fence runs to the end, so a half-streamed answer renders sensibly.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const INDENTED_CODE = /^( {4}|\t)/;

// Answers are rendered inside a page that has its own h1/h2: shift heading levels down by two.
const HEADING_SHIFT = 2;

export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  for (const node of renderBlocks(lines)) fragment.append(node);
  return fragment;
}

function isBlank(line) {
  return line.trim() === '';
}

function indentOf(line) {
  return line.match(/^\s*/)[0].replace(/\t/g, '    ').length;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line)
    || LIST_ITEM.test(line);
}

function renderBlocks(lines) {
  const nodes = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index];
    if (isBlank(line)) {
      index += 1;
      continue;
    }
    const block = FENCE.test(line) ? fencedCode
      : HEADING.test(line) ? heading
        : RULE.test(line) ? rule
          : QUOTE.test(line) ? quote
            : LIST_ITEM.test(line) ? list
              : isTableStart(lines, index) ? table
                : INDENTED_CODE.test(line) ? indentedCode
                  : paragraph;
    const [node, next] = block(lines, index);
    nodes.push(node);
    index = next;
  }
  return nodes;
}

function fencedCode(lines, start) {
  const [, fence, language] = FENCE.exec(lines[start]);
  const body = [];
  let index = start + 1;
  while (index < lines.length) {
    const line = lines[index];
    if (line.trim().startsWith(fence[0].repeat(fence.length)) && line.trim().replace(/[`~]/g, '') === '') {
      index += 1;
      break;
    }
    body.push(line);
    index += 1;
  }
  return [codeBlock(body.join('\n'), language), index];
}

function indentedCode(lines, start) {
  const body = [];
  let index = start;
  while (index < lines.length && (INDENTED_CODE.test(lines[index]) || isBlank(lines[index]))) {
    body.push(lines[index].replace(INDENTED_CODE, ''));
    index += 1;
  }
  while (body.length && isBlank(body[body.length - 1])) body.pop();
  return [codeBlock(body.join('\n'), ''), index];
}

function codeBlock(text, language) {
  const pre = document.createElement('pre');
  const code = document.createElement('code');
  if (language) code.dataset.language = language;
  code.textContent = text;
  pre.append(code);
  return pre;
}

function heading(lines, start) {
  const [, marks, content] = HEADING.exec(lines[start]);
  const level = Math.min(6, marks.length + HEADING_SHIFT);
  const node = document.createElement(`h${level}`);
  node.append(...renderInline(content));
  return [node, start + 1];
}

function rule(_lines, start) {
  return [document.createElement('hr'), start + 1];
}

function quote(lines, start) {
  const inner = [];
  let index = start;
  while (index < lines.length && QUOTE.test(lines[index])) {
    inner.push(QUOTE.exec(lines[index])[1]);
    index += 1;
  }
  const node = document.createElement('blockquote');
  node.append(...renderBlocks(inner));
  return [node, index];
}

function list(lines, start) {
  const first = LIST_ITEM.exec(lines[start]);
  const baseIndent = indentOf(first[1]);
  const ordered = /\d/.test(first[2]);
  const node = document.createElement(ordered ? 'ol' : 'ul');
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  let index = start;
  let loose = false;
  while (index < lines.length) {
    const match = LIST_ITEM.exec(lines[index]);
    if (!match || indentOf(match[1]) !== baseIndent || /\d/.test(match[2]) !== ordered) break;
    const contentIndent = baseIndent + match[2].length + 1;
    const itemLines = [match[3]];
    index += 1;
    while (index < lines.length) {
      const line = lines[index];
      if (isBlank(line)) {
        const next = lines.slice(index + 1).find((candidate) => !isBlank(candidate));
        if (next === undefined || indentOf(next) <= baseIndent) break;
        loose = true;
        itemLines.push('');
      } else if (indentOf(line) > baseIndent) {
        itemLines.push(line.slice(Math.min(indentOf(line), contentIndent)));
      } else if (!startsBlock(line)) {
        itemLines.push(line.trim());
      } else {
        break;
      }
      index += 1;
    }
    node.append(listItem(itemLines, loose));
    if (index < lines.length && isBlank(lines[index])) {
      const next = lines.slice(index + 1).find((candidate) => !isBlank(candidate));
      const nextItem = next === undefined ? null : LIST_ITEM.exec(next);
      if (!nextItem || indentOf(nextItem[1]) !== baseIndent) break;
      while (isBlank(lines[index])) index += 1;
    }
  }
  return [node, index];
}

function listItem(itemLines, loose) {
  const item = document.createElement('li');
  const blocks = renderBlocks(itemLines);
  // A tight item's single paragraph is shown inline, as Markdown renderers do.
  if (!loose && blocks[0]?.tagName === 'P') {
    item.append(...blocks[0].childNodes, ...blocks.slice(1));
  } else {
    item.append(...blocks);
  }
  return item;
}

function isTableStart(lines, index) {
  return lines[index].includes('|') && index + 1 < lines.length && TABLE_DIVIDER.test(lines[index + 1]);
}

function tableCells(line) {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
}

function table(lines, start) {
  const node = document.createElement('table');
  const head = node.createTHead().insertRow();
  for (const cell of tableCells(lines[start])) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.append(...renderInline(cell));
    head.append(th);
  }
  const body = node.createTBody();
  let index = start + 2;
  while (index < lines.length && lines[index].includes('|') && !isBlank(lines[index])) {
    const row = body.insertRow();
    for (const cell of tableCells(lines[index])) row.insertCell().append(...renderInline(cell));
    index += 1;
  }
  const wrapper = document.createElement('div');
  wrapper.className = 'table-scroll';
  wrapper.append(node);
  return [wrapper, index];
}

function paragraph(lines, start) {
  const body = [];
  let index = start;
  while (index < lines.length && !isBlank(lines[index]) && (index === start || !startsBlock(lines[index]))
    && !isTableStart(lines, index)) {
    body.push(lines[index].trim());
    index += 1;
  }
  const node = document.createElement('p');
  body.forEach((line, position) => {
    if (position > 0) node.append(document.createElement('br'));
    node.append(...renderInline(line));
  });
  return [node, index];
}

// -- inline ---------------------------------------------------------------------------------------

const INLINE_RULES = [
  { name: 'code', pattern: /(`+)([\s\S]*?[^`])\1(?!`)/ },
  { name: 'link', pattern: /\[([^\]\n]+)\]\(\s*<?([^\s)<>]*)>?(?:\s+"[^"\n]*")?\s*\)/ },
  { name: 'autolink', pattern: /\bhttps?:\/\/[^\s<>"'`]+/i },
  { name: 'strong', pattern: /\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__(?!\w)/ },
  { name: 'strike', pattern: /~~(?=\S)([\s\S]*?\S)~~/ },
  { name: 'em', pattern: /\*(?=[^\s*])([\s\S]*?[^\s*])\*|(?<!\w)_(?=\S)([\s\S]*?\S)_(?!\w)/ },
];

export function safeUrl(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function externalLink(href, children) {
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer nofollow';
  anchor.append(...children);
  return anchor;
}

function earliestMatch(text) {
  let best = null;
  for (const rule of INLINE_RULES) {
    const match = rule.pattern.exec(text);
    if (match && (best === null || match.index < best.match.index)) best = { rule, match };
  }
  return best;
}

export function renderInline(text) {
  const nodes = [];
  let rest = text;
  while (rest) {
    const found = earliestMatch(rest);
    if (!found) {
      nodes.push(document.createTextNode(rest));
      break;
    }
    const { rule, match } = found;
    if (match.index > 0) nodes.push(document.createTextNode(rest.slice(0, match.index)));
    nodes.push(inlineNode(rule.name, match));
    rest = rest.slice(match.index + match[0].length);
  }
  return nodes;
}

function inlineNode(name, match) {
  if (name === 'code') {
    const code = document.createElement('code');
    code.textContent = match[2].replace(/^ (.*) $/, '$1');
    return code;
  }
  if (name === 'link') {
    const href = safeUrl(match[2]);
    return href ? externalLink(href, renderInline(match[1])) : document.createTextNode(match[0]);
  }
  if (name === 'autolink') {
    const trimmed = match[0].replace(/[.,;:!?)\]]+$/, '');
    const href = safeUrl(trimmed);
    const trailing = match[0].slice(trimmed.length);
    if (!href) return document.createTextNode(match[0]);
    const fragment = document.createDocumentFragment();
    fragment.append(externalLink(href, [document.createTextNode(trimmed)]));
    if (trailing) fragment.append(trailing);
    return fragment;
  }
  const tag = { strong: 'strong', strike: 's', em: 'em' }[name];
  const element = document.createElement(tag);
  element.append(...renderInline(match[1] ?? match[2]));
  return element;
}
