// Read-only server settings from GET /health/detailed: LLM providers and their health, storage, version.

import { h } from '../dom.js';
import { session } from '../session.js';
import { badge, notice } from '../ui.js';

const CIRCUIT_KINDS = { closed: 'ok', half_open: 'warn', open: 'error' };

export async function renderSettings(main, _params, signal) {
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Settings')),
    h('p', { class: 'muted' }, 'What this server is configured with. Change it with FAULTMAVEN_* environment variables and a restart.'));
  const response = await fetch('/health/detailed', { signal });
  const health = await response.json();
  main.append(providersSection(health.llm || {}), storageSection(health), serverSection(health));
}

function providersSection(llm) {
  const providers = llm.providers || [];
  const section = h('section', { class: 'card', 'aria-labelledby': 'providers-title' }, h('h2', { id: 'providers-title' }, 'LLM providers'));
  if (!providers.length) {
    section.append(notice('warn', h('strong', {}, 'No LLM provider is configured: '),
      'answers are built without AI and marked as degraded. Set ', h('code', {}, 'FAULTMAVEN_LLM_PROVIDERS'),
      ', for example ', h('code', {}, 'ollama:llama3.1'), ' for a local Ollama, or ', h('code', {}, 'openai:gpt-4.1-mini'),
      ' with ', h('code', {}, 'FAULTMAVEN_LLM_OPENAI_API_KEY'), '; several, comma-separated, fail over in order.'));
    return section;
  }
  section.append(
    h('p', { class: 'muted' }, 'In failover order. An open circuit means the provider failed repeatedly and is skipped until its cool-down ends.'),
    h('ol', { class: 'provider-list' }, providers.map((provider) => {
      const circuit = String(provider.circuit_state || 'unknown');
      return h('li', { class: 'provider', dataset: { provider: provider.alias } },
        h('div', { class: 'provider-head' },
          h('strong', {}, provider.alias),
          h('span', { class: 'muted' }, [provider.kind, provider.model].filter(Boolean).join(' · ')),
          badge(`circuit ${circuit.replaceAll('_', '-')}`, CIRCUIT_KINDS[circuit] || 'neutral', 'Circuit breaker state')));
    })));
  return section;
}

function storageSection(health) {
  const database = health.database || {};
  const rows = [
    ['Database', `${database.engine || 'unknown'}${database.reachable === false ? ' (unreachable)' : ''}`],
    ['Schema revision', `${database.revision || '—'}${database.at_head === false ? ' (not at head)' : ''}`],
  ];
  if (health.redis) rows.push(['Redis', redisText(health.redis)]);
  if (health.rate_limit) rows.push(['Rate limits', rateLimitText(health.rate_limit)]);
  return definitionSection('storage-title', 'Storage', rows);
}

function redisText(redis) {
  if (!redis.configured) return 'not configured';
  return redis.reachable === false ? 'unreachable' : 'reachable';
}

function rateLimitText(limits) {
  if (!limits.enabled) return 'disabled';
  return `${limits.queries} queries, ${limits.writes} writes (${limits.storage || 'memory'})`;
}

function serverSection(health) {
  const user = session.user || {};
  return definitionSection('server-title', 'Server', [
    ['Version', health.version || '—'],
    ['Status', health.status || '—'],
    ['Authentication', health.auth_mode || user.auth_mode || '—'],
    ['Case integration', health.case_integration?.enabled === false ? 'disabled' : 'enabled'],
    ['Signed in as', `${user.display_name || user.username || '—'}${(user.roles || []).includes('admin') ? ' (admin)' : ''}`],
  ]);
}

function definitionSection(id, title, rows) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title),
    h('dl', { class: 'totals' }, rows.map(([name, value]) => h('div', {}, h('dt', {}, name), h('dd', {}, value)))));
}
