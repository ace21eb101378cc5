// Domains: the list (registered and deprecated) with status, retention and open-execution counts;
// a domain's page with its workflow and activity types and their defaults; deprecate and
// undeprecate, each after a confirmation.

import { all, swf } from './api.js';
import { append, badge, confirmDialog, errorBox, h, link, qs, table } from './ui.js';

export async function render(main) {
  const [registered, deprecated] = await Promise.all(['REGISTERED', 'DEPRECATED'].map((s) =>
    all('swf', 'ListDomains', { registrationStatus: s, maximumPageSize: 1000 }, 'domainInfos')));
  const domains = registered.concat(deprecated);
  const details = await Promise.all(domains.map(async (d) => {
    const [desc, open] = await Promise.all([
      swf('DescribeDomain', { name: d.name }).catch(() => null),
      swf('CountOpenWorkflowExecutions', { domain: d.name, startTimeFilter: { oldestDate: 0 } }).catch(() => null),
    ]);
    return { ...d, desc, open };
  }));
  append(main, [h('h2', {}, 'Domains'), table([
    ['Name', (d) => link(d.name, '/domain' + qs({ name: d.name }), { class: 'domain-link' })],
    ['Status', (d) => badge(d.status)],
    ['Retention (days)', (d) => d.desc ? d.desc.configuration.workflowExecutionRetentionPeriodInDays : ''],
    ['Open executions', (d) => (d.open ? `${d.open.count}${d.open.truncated ? '+' : ''}` : '')],
    ['Description', (d) => d.description || ''],
    ['', (d) => h('span', {}, link('executions', '/executions' + qs({ domain: d.name })), ' · ',
      link('task lists', '/tasklists' + qs({ domain: d.name })))],
  ], details, { id: 'domains' })]);
}

/** One domain: its configuration and types; deprecate / undeprecate. */
export async function renderDomain(main, { name }) {
  const desc = await swf('DescribeDomain', { name });
  const lists = async (action, key, status) =>
    all('swf', action, { domain: name, registrationStatus: status, maximumPageSize: 1000 }, key);
  const [wfR, wfD, acR, acD] = await Promise.all([
    lists('ListWorkflowTypes', 'typeInfos', 'REGISTERED'), lists('ListWorkflowTypes', 'typeInfos', 'DEPRECATED'),
    lists('ListActivityTypes', 'typeInfos', 'REGISTERED'), lists('ListActivityTypes', 'typeInfos', 'DEPRECATED'),
  ]);
  const describe = (action, key) => (t) =>
    swf(action, { domain: name, [key]: t[key] }).then((d) => ({ ...t, conf: d.configuration })).catch(() => t);
  const workflows = await Promise.all(wfR.concat(wfD).map(describe('DescribeWorkflowType', 'workflowType')));
  const activities = await Promise.all(acR.concat(acD).map(describe('DescribeActivityType', 'activityType')));
  const info = desc.domainInfo;
  const msg = h('div', {});
  const act = async (verb, what, action, input) => {
    if (!(await confirmDialog(`${verb} ${what}?`, `${verb} ${what} in domain ${name}.`))) return;
    try {
      await swf(action, input);
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  };
  const typeButton = (kind, t, key) => {
    const ty = t[key];
    const what = `${kind} type ${ty.name} ${ty.version}`;
    const [verb, action] = t.status === 'REGISTERED'
      ? ['Deprecate', `Deprecate${kind}Type`] : ['Undeprecate', `Undeprecate${kind}Type`];
    return h('button', { class: 'small', onclick: () => act(verb, what, action, { domain: name, [key]: ty }) }, verb);
  };
  const tl = (x) => (x ? x.name : '');
  append(main, [
    h('h2', {}, 'Domain ', h('span', { id: 'domain-name' }, info.name), ' ', badge(info.status)),
    msg,
    h('p', {}, `Retention ${desc.configuration.workflowExecutionRetentionPeriodInDays} days. `, info.description || '', ' ',
      info.status === 'REGISTERED'
        ? h('button', { id: 'deprecate-domain', onclick: () => act('Deprecate', `domain ${name}`, 'DeprecateDomain', { name }) }, 'Deprecate domain')
        : h('button', { id: 'undeprecate-domain', onclick: () => act('Undeprecate', `domain ${name}`, 'UndeprecateDomain', { name }) }, 'Undeprecate domain'),
      ' ', link('Executions', '/executions' + qs({ domain: name })), ' · ', link('Task lists', '/tasklists' + qs({ domain: name }))),
    h('h3', {}, 'Workflow types'),
    table([
      ['Name', (t) => t.workflowType.name], ['Version', (t) => t.workflowType.version], ['Status', (t) => badge(t.status)],
      ['Task list', (t) => tl(t.conf && t.conf.defaultTaskList)],
      ['Execution timeout', (t) => (t.conf && t.conf.defaultExecutionStartToCloseTimeout) || ''],
      ['Task timeout', (t) => (t.conf && t.conf.defaultTaskStartToCloseTimeout) || ''],
      ['Child policy', (t) => (t.conf && t.conf.defaultChildPolicy) || ''],
      ['Priority', (t) => (t.conf && t.conf.defaultTaskPriority) || ''],
      ['Lambda role', (t) => (t.conf && t.conf.defaultLambdaRole) || ''],
      ['', (t) => typeButton('Workflow', t, 'workflowType')],
    ], workflows, { id: 'workflow-types' }),
    h('h3', {}, 'Activity types'),
    table([
      ['Name', (t) => t.activityType.name], ['Version', (t) => t.activityType.version], ['Status', (t) => badge(t.status)],
      ['Task list', (t) => tl(t.conf && t.conf.defaultTaskList)],
      ['Schedule→start', (t) => (t.conf && t.conf.defaultTaskScheduleToStartTimeout) || ''],
      ['Start→close', (t) => (t.conf && t.conf.defaultTaskStartToCloseTimeout) || ''],
      ['Schedule→close', (t) => (t.conf && t.conf.defaultTaskScheduleToCloseTimeout) || ''],
      ['Heartbeat', (t) => (t.conf && t.conf.defaultTaskHeartbeatTimeout) || ''],
      ['Priority', (t) => (t.conf && t.conf.defaultTaskPriority) || ''],
      ['', (t) => typeButton('Activity', t, 'activityType')],
    ], activities, { id: 'activity-types' })]);
}
