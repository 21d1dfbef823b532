// erpsync console: plain JavaScript over the JSON API under /console/api/.
'use strict';

const I18N = {
  en: {
    countLine: '{n} dead letters, {k} selected', tz: '(China time)', console: 'console', streams: 'Streams', deadLetters: 'Dead letters', records: 'Records', checkpoints: 'Checkpoints',
    stream: 'Stream', target: 'Target', errorCode: 'Error code', status: 'Status', open: 'open', resolved: 'resolved', all: 'all',
    since: 'Since', until: 'Until', replaySelected: 'Replay selected', replayAll: 'Replay all of this stream',
    resolveSelected: 'Mark resolved…', sourceId: 'Source id', reason: 'Reason', attempts: 'Attempts', lastFailure: 'Last failure',
    search: 'Source id or target number', find: 'Find', time: 'Time', targetNumber: 'Target number', targetId: 'Target id',
    action: 'Action', interface: 'Interface', key: 'Key', state: 'State', checkpoint: 'Checkpoint', windowEnd: 'Window end',
    cancel: 'Cancel', ok: 'OK', updated: 'updated', input: 'Input', output: 'Output', lag: 'Lag', lastPoll: 'Last poll',
    lastError: 'Last error', read: 'read', written: 'written', updatedN: 'updated', skipped: 'skipped', deadLettered: 'dead-lettered',
    retried: 'retried', openDead: 'open dead letters', failed: 'refused', calls: 'Vendor calls by code', none: '—',
    st_running: 'running', st_waiting: 'caught up, waiting', st_finished: 'finished', st_stopped: 'stopped with error',
    st_starting: 'starting', st_unknown: 'unknown', noStreams: 'No streams in this process.',
    noDead: 'No dead letters match.', noRecords: 'No records match. Records are logged when the stream sets records.table (RECORDS_TABLE).',
    noCheckpoints: 'No polling input with a checkpoint.', sourceDoc: 'Source document', targetPayload: 'What the target refused',
    sourceMeta: 'Source metadata', errorMessage: 'Reason', firstFailure: 'First failure', note: 'Note',
    replayOne: 'Replay this one', resolveOne: 'Mark resolved…', resetCp: 'Reset…',
    resolveTitle: 'Mark {n} dead letter(s) resolved', resolveNote: 'Why are they resolved without a replay? (required)',
    resetTitle: 'Reset the checkpoint of {s}', resetTo: 'Read again from (Asia/Shanghai time):',
    resetConfirm: 'Type the stream name to confirm:', replayStarted: 'Replay {id} of {s} started',
    job_running: 'running', job_done: 'done', job_failed: 'failed', jobLine: 'Replay {id} {s}: {state}, {r} resolved, {f} failed again',
    pickStream: 'Choose one stream in the filter first.', selectSome: 'Select dead letters first.',
    tokenPrompt: 'This console needs its access token (ERPSYNC_CONSOLE_TOKEN):', allStreams: 'all streams',
    cannotReplay: 'cannot replay: ', resetPending: 'reset pending to ', tables: 'Tables', dlTable: 'dead-letter table', recTable: 'record log',
  },
  zh: {
    countLine: '共 {n} 条死信，已选 {k} 条', tz: '（北京时间）', console: '控制台', streams: '数据流', deadLetters: '死信', records: '记录', checkpoints: '检查点',
    stream: '数据流', target: '目标', errorCode: '错误码', status: '状态', open: '未处理', resolved: '已解决', all: '全部',
    since: '起始', until: '截止', replaySelected: '重放所选', replayAll: '重放该数据流全部',
    resolveSelected: '标记为已解决…', sourceId: '源单号', reason: '原因', attempts: '失败次数', lastFailure: '最近失败',
    search: '源单号或目标单号', find: '查找', time: '时间', targetNumber: '目标单号', targetId: '目标内码',
    action: '操作', interface: '接口', key: '键', state: '状态', checkpoint: '检查点', windowEnd: '窗口结束',
    cancel: '取消', ok: '确定', updated: '更新于', input: '输入', output: '输出', lag: '延迟', lastPoll: '最近拉取',
    lastError: '最近错误', read: '读取', written: '新建', updatedN: '更新', skipped: '跳过', deadLettered: '进入死信',
    retried: '重试', openDead: '未处理死信', failed: '被拒', calls: '按返回码统计的接口调用', none: '—',
    st_running: '运行中', st_waiting: '已追平，等待中', st_finished: '已完成', st_stopped: '因错误停止',
    st_starting: '启动中', st_unknown: '未知', noStreams: '本进程没有数据流。',
    noDead: '没有符合条件的死信。', noRecords: '没有符合条件的记录。数据流设置 records.table（RECORDS_TABLE）后才会记录。',
    noCheckpoints: '没有带检查点的拉取输入。', sourceDoc: '源单据', targetPayload: '目标拒收的内容',
    sourceMeta: '源元数据', errorMessage: '原因', firstFailure: '首次失败', note: '备注',
    replayOne: '重放此条', resolveOne: '标记为已解决…', resetCp: '重置…',
    resolveTitle: '将 {n} 条死信标记为已解决', resolveNote: '不重放而直接解决的原因（必填）',
    resetTitle: '重置 {s} 的检查点', resetTo: '从此时间重新读取（北京时间）：',
    resetConfirm: '输入数据流名称以确认：', replayStarted: '已开始重放 {id}（{s}）',
    job_running: '进行中', job_done: '完成', job_failed: '失败', jobLine: '重放 {id} {s}：{state}，{r} 条已解决，{f} 条再次失败',
    pickStream: '请先在筛选中选择一个数据流。', selectSome: '请先选择死信。',
    tokenPrompt: '此控制台需要访问令牌（ERPSYNC_CONSOLE_TOKEN）：', allStreams: '全部数据流',
    cannotReplay: '不能重放：', resetPending: '待重置为 ', tables: '表', dlTable: '死信表', recTable: '记录表',
  },
};

let lang = localStorage.getItem('erpsync.lang') || ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en');
const t = (k, vars) => {
  let s = (I18N[lang] && I18N[lang][k]) || I18N.en[k] || k;
  for (const [n, v] of Object.entries(vars || {})) s = s.replace('{' + n + '}', v);
  return s;
};
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k.nodeType ? k : String(k));
  return e;
};

function applyLang() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $('#lang').textContent = lang === 'zh' ? 'English' : '中文';
}

async function api(path, opts) {
  const o = Object.assign({ headers: {} }, opts || {});
  if (o.body !== undefined) { o.method = o.method || 'POST'; o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(o.body); }
  const res = await fetch('api/' + path, o);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) { await signIn(); return api(path, opts); }
  if (!res.ok) throw new Error((body && body.error) || res.statusText);
  return body;
}

async function signIn() {
  const token = await ask(t('tokenPrompt'), [el('input', { type: 'password', id: 'dlg-token', autocomplete: 'current-password' })], () => $('#dlg-token').value);
  if (token === null) throw new Error('not signed in');
  await fetch('api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
}

function banner(msg, isError) {
  const b = $('#banner');
  if (!msg) { b.classList.add('hidden'); return; }
  b.textContent = msg; b.className = 'banner' + (isError ? ' error' : '');
}

// ask shows the dialog; resolves with value() on OK, null on cancel.
function ask(title, body, value) {
  return new Promise((resolve) => {
    const d = $('#dlg');
    $('#dlg-title').textContent = title;
    const b = $('#dlg-body'); b.replaceChildren(...body);
    d.onclose = () => resolve(d.returnValue === 'ok' ? value() : null);
    d.returnValue = '';
    d.showModal();
  });
}

// Times are shown in China time (the vendors' and the ERPs' time), as
// 2026-12-01 08:00:00 whatever the browser's language.
const timeParts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', hour12: false,
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const fmtTime = (v) => {
  if (!v) return t('none');
  const p = Object.fromEntries(timeParts.formatToParts(new Date(v)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`;
};
const fmtLag = (s) => {
  if (s === undefined || s === null) return t('none');
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
};

// ---- Streams
let streams = [];
async function loadStreams() {
  const data = await api('streams');
  streams = data.streams || [];
  $('#updated').textContent = t('updated') + ' ' + fmtTime(data.now);
  const problems = data.problems || [];
  banner(problems.length ? problems.join('; ') : '', true);
  const box = $('#stream-cards');
  if (!streams.length) { box.replaceChildren(el('div', { class: 'empty' }, t('noStreams'))); return; }
  box.replaceChildren(...streams.map(streamCard));
  fillStreamSelects();
}

function streamCard(s) {
  const c = s.counts || {};
  const count = (n, label, bad) => el('div', { class: 'count' + (bad && n > 0 ? ' bad' : '') }, el('b', {}, n ?? t('none')), el('span', {}, label));
  const calls = Object.entries(s.calls || {}).sort();
  const input = s.input ? [s.input.type, s.input.interface].filter(Boolean).join(' · ') : t('none');
  return el('div', { class: 'card', 'data-stream': s.name },
    el('h3', {}, s.name, el('span', { class: 'state ' + s.state }, t('st_' + s.state))),
    el('div', { class: 'sub' }, s.file || ''),
    el('dl', { class: 'kv' },
      el('dt', {}, t('input')), el('dd', {}, input),
      el('dt', {}, t('output')), el('dd', {}, (s.outputs || []).join(', ') || t('none')),
      el('dt', {}, t('checkpoint')), el('dd', {}, fmtTime(s.checkpoint),
        s.input && s.input.reset_pending ? el('span', { class: 'muted' }, ' (' + t('resetPending') + fmtTime(s.input.reset_pending) + ')') : null),
      el('dt', {}, t('lag')), el('dd', {}, fmtLag(s.lag_seconds)),
      el('dt', {}, t('lastPoll')), el('dd', {}, fmtTime(s.last_poll)),
      el('dt', {}, t('tables')), el('dd', {}, [s.dead_letter_table ? t('dlTable') : null, s.record_table ? t('recTable') : null].filter(Boolean).join(', ') || t('none'))),
    el('div', { class: 'counts' },
      count(c.read, t('read')), count(c.written, t('written')), count(c.updated, t('updatedN')), count(c.skipped, t('skipped')),
      count(c.dead_lettered, t('deadLettered'), true), count(c.open_dead_letters, t('openDead'), true), count(c.retried, t('retried')), count(c.failed, t('failed'), true)),
    calls.length ? el('div', { class: 'calls' }, t('calls') + ': ', ...calls.map(([k, v]) => el('code', {}, k + ' × ' + v))) : null,
    s.last_error ? el('div', { class: 'err' }, t('lastError') + ' (' + fmtTime(s.last_error_at) + '): ' + s.last_error) : null);
}

function fillStreamSelects() {
  for (const id of ['#f-stream', '#r-stream']) {
    const sel = $(id); const cur = sel.value;
    sel.replaceChildren(el('option', { value: '' }, t('allStreams')), ...streams.map((s) => el('option', { value: s.name }, s.name)));
    sel.value = cur;
  }
}

// ---- Dead letters
let deadLetters = [];
const selected = new Set();
let openID = null;

function dlQuery() {
  const q = new URLSearchParams();
  const v = (id) => $(id).value;
  if (v('#f-stream')) q.set('stream', v('#f-stream'));
  if (v('#f-target')) q.set('target', v('#f-target'));
  if (v('#f-code')) q.set('error_code', v('#f-code'));
  q.set('status', v('#f-status'));
  if (v('#f-since')) q.set('since', v('#f-since'));
  if (v('#f-until')) q.set('until', v('#f-until'));
  return q.toString();
}

function fillSelect(id, values) {
  const sel = $(id); const cur = sel.value;
  sel.replaceChildren(el('option', { value: '' }, t('all')), ...values.map((v) => el('option', { value: v }, v)));
  if (values.includes(cur)) sel.value = cur;
}

async function loadDeadLetters() {
  const data = await api('dead-letters?' + dlQuery());
  deadLetters = data.dead_letters || [];
  fillSelect('#f-target', data.targets || []);
  fillSelect('#f-code', data.error_codes || []);
  for (const id of [...selected]) if (!deadLetters.some((d) => d.id === id)) selected.delete(id);
  const tb = $('#dl-table tbody');
  if (!deadLetters.length) {
    tb.replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'muted' }, t('noDead'))));
  } else {
    tb.replaceChildren(...deadLetters.map((d) => {
      const cb = el('input', { type: 'checkbox', 'aria-label': d.source_id });
      cb.checked = selected.has(d.id);
      cb.addEventListener('click', (e) => { e.stopPropagation(); cb.checked ? selected.add(d.id) : selected.delete(d.id); updateActions(); });
      return el('tr', { class: openID === d.id ? 'sel' : '', 'data-id': d.id, onclick: () => openDeadLetter(d.id) },
        el('td', {}, cb), el('td', { class: 'col-stream' }, d.stream), el('td', { class: 'nowrap col-source' }, d.source_id), el('td', { class: 'nowrap col-target' }, d.target),
        el('td', {}, d.error_code || t('none')), el('td', { class: 'reason', title: d.error_message }, el('div', {}, shortReason(d))),
        el('td', {}, d.attempts), el('td', { class: 'nowrap' }, fmtTime(d.last_failure_at)),
        el('td', { class: 'col-status' }, el('span', { class: 'pill ' + d.status }, t(d.status))));
    }));
  }
  $('#dl-count').textContent = t('countLine', { n: deadLetters.length, k: selected.size });
  updateActions();
  await loadJobs();
}

function updateActions() {
  $('#replay-selected').disabled = selected.size === 0;
  $('#resolve-selected').disabled = selected.size === 0;
  $('#replay-all').disabled = !$('#f-stream').value;
}

// shortReason is the vendor's own words of a dead letter's error, without
// the prefixes the full text (shown when opened) carries.
function shortReason(d) {
  let m = d.error_message || '';
  m = m.replace(/^rejecting due to failed processing: /, '').replace(/^failed assignment \(line \d+\): /, '');
  m = m.replace(/^[a-z0-9_]+: [^:]+: code \S+ /, '');
  if (d.source_id) m = m.replace(new RegExp('^[A-Z_]+ ' + d.source_id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + ': '), '');
  return m.replace(/ \((permanent|transient)\)$/, '');
}

const pretty = (v) => (v === undefined || v === null ? t('none') : JSON.stringify(v, null, 2));

async function openDeadLetter(id) {
  openID = id;
  const d = await api('dead-letters/' + id);
  const box = $('#dl-detail');
  box.classList.remove('hidden');
  box.parentElement.classList.add('open');
  box.replaceChildren(
    el('h3', {}, d.stream + ' · ' + d.source_id, ' ', el('span', { class: 'pill ' + d.status }, t(d.status))),
    el('dl', { class: 'kv' },
      el('dt', {}, t('target')), el('dd', {}, d.target),
      el('dt', {}, t('errorCode')), el('dd', {}, d.error_code || t('none')),
      el('dt', {}, t('attempts')), el('dd', {}, d.attempts),
      el('dt', {}, t('firstFailure')), el('dd', {}, fmtTime(d.first_failure_at)),
      el('dt', {}, t('lastFailure')), el('dd', {}, fmtTime(d.last_failure_at)),
      d.note ? el('dt', {}, t('note')) : null, d.note ? el('dd', {}, d.note) : null),
    el('h4', {}, t('errorMessage')), el('div', { class: 'reason err', id: 'dl-reason' }, d.error_message),
    el('div', { class: 'actions' },
      el('button', { class: 'primary', disabled: d.status !== 'open' ? 'disabled' : null, onclick: () => replay(d.stream, [d.id]) }, t('replayOne')),
      el('button', { disabled: d.status !== 'open' ? 'disabled' : null, onclick: () => resolve(d.stream, [d.id]) }, t('resolveOne'))),
    el('h4', {}, t('sourceDoc')), el('pre', {}, pretty(d.payload)),
    el('h4', {}, t('targetPayload')), el('pre', {}, pretty(d.target_payload)),
    el('h4', {}, t('sourceMeta')), el('pre', {}, pretty(d.source_meta)));
  document.querySelectorAll('#dl-table tbody tr').forEach((tr) => tr.classList.toggle('sel', Number(tr.dataset.id) === id));
}

function byStream(ids) {
  const m = new Map();
  for (const id of ids) {
    const d = deadLetters.find((x) => x.id === id);
    if (!d) continue;
    if (!m.has(d.stream)) m.set(d.stream, []);
    m.get(d.stream).push(id);
  }
  return m;
}

async function replay(stream, ids, all) {
  try {
    const job = await api('dead-letters/replay', { body: all ? { stream, all: true } : { stream, ids } });
    banner(t('replayStarted', { id: job.id, s: stream }));
    watchJobs();
  } catch (e) { banner(e.message, true); }
}

async function resolve(stream, ids) {
  const note = await ask(t('resolveTitle', { n: ids.length }),
    [el('label', {}, t('resolveNote')), el('textarea', { id: 'dlg-note', rows: 3, required: 'required' })], () => $('#dlg-note').value);
  if (!note) return;
  try {
    await api('dead-letters/resolve', { body: { stream, ids, note } });
    selected.clear();
    await loadDeadLetters();
    if (openID) await openDeadLetter(openID);
  } catch (e) { banner(e.message, true); }
}

let jobTimer = null;
function watchJobs() {
  clearInterval(jobTimer);
  jobTimer = setInterval(async () => {
    const running = await loadJobs();
    await loadDeadLetters();
    if (openID) await openDeadLetter(openID).catch(() => {});
    if (!running) clearInterval(jobTimer);
  }, 1000);
}

async function loadJobs() {
  const data = await api('replays');
  const jobs = (data.replays || []).slice(0, 5);
  $('#jobs').replaceChildren(...jobs.map((j) => el('span', { class: 'job', 'data-state': j.state },
    t('jobLine', { id: j.id, s: j.stream, state: t('job_' + j.state), r: j.resolved, f: j.failed }) + (j.error ? ' — ' + j.error : ''))));
  return jobs.some((j) => j.state === 'running');
}

// ---- Records
async function loadRecords() {
  const q = new URLSearchParams();
  if ($('#r-stream').value) q.set('stream', $('#r-stream').value);
  if ($('#r-q').value.trim()) q.set('q', $('#r-q').value.trim());
  const data = await api('records?' + q.toString());
  const recs = data.records || [];
  const tb = $('#r-table tbody');
  if (!recs.length) { tb.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, t('noRecords')))); return; }
  tb.replaceChildren(...recs.map((r) => el('tr', {},
    el('td', {}, fmtTime(r.written_at)), el('td', {}, r.stream), el('td', {}, r.source_id), el('td', {}, r.target),
    el('td', {}, r.target_number), el('td', {}, r.target_id || t('none')),
    el('td', {}, el('span', { class: 'pill ' + r.action }, r.action)))));
}

// ---- Checkpoints
async function loadCheckpoints() {
  const data = await api('checkpoints');
  const cps = data.checkpoints || [];
  const tb = $('#c-table tbody');
  if (!cps.length) { tb.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, t('noCheckpoints')))); return; }
  tb.replaceChildren(...cps.map((c) => el('tr', {},
    el('td', {}, c.stream), el('td', {}, c.vendor + ' ' + c.interface), el('td', {}, c.cache + ' / ' + c.key),
    el('td', {}, el('span', { class: 'state ' + c.state }, t('st_' + c.state))),
    el('td', {}, fmtTime(c.checkpoint), c.reset_pending ? el('div', { class: 'muted' }, t('resetPending') + fmtTime(c.reset_pending)) : null),
    el('td', {}, fmtTime(c.window_end)),
    el('td', {}, el('button', { onclick: () => resetCheckpoint(c) }, t('resetCp'))))));
}

function shanghaiInput(v) {
  if (!v) return '';
  const d = new Date(new Date(v).getTime() + 8 * 3600e3);
  return d.toISOString().slice(0, 16);
}

async function resetCheckpoint(c) {
  const res = await ask(t('resetTitle', { s: c.stream }), [
    el('label', {}, t('resetTo')), el('input', { type: 'datetime-local', id: 'dlg-to', value: shanghaiInput(c.checkpoint) }),
    el('label', {}, t('resetConfirm')), el('input', { type: 'text', id: 'dlg-confirm', placeholder: c.stream }),
  ], () => ({ to: $('#dlg-to').value, confirm: $('#dlg-confirm').value }));
  if (!res) return;
  try {
    const r = await api('checkpoints/reset', { body: { stream: c.stream, to: res.to, confirm: res.confirm } });
    banner(r.message);
    await loadCheckpoints();
  } catch (e) { banner(e.message, true); }
}

// ---- Tabs and refresh
let tab = 'streams';
async function refresh() {
  try {
    if (tab === 'streams') await loadStreams();
    else if (tab === 'dead') { if (!streams.length) await loadStreams(); await loadDeadLetters(); }
    else if (tab === 'records') { if (!streams.length) await loadStreams(); await loadRecords(); }
    else if (tab === 'checkpoints') await loadCheckpoints();
  } catch (e) { banner(e.message, true); }
}

function show(name) {
  tab = name;
  banner('');
  document.querySelectorAll('.tab').forEach((b) => b.classList.toggle('active', b.dataset.tab === name));
  for (const n of ['streams', 'dead', 'records', 'checkpoints']) $('#tab-' + n).classList.toggle('hidden', n !== name);
  location.hash = name;
  refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  applyLang();
  $('#lang').addEventListener('click', () => { lang = lang === 'zh' ? 'en' : 'zh'; localStorage.setItem('erpsync.lang', lang); applyLang(); refresh(); });
  document.querySelectorAll('.tab').forEach((b) => b.addEventListener('click', () => show(b.dataset.tab)));
  for (const id of ['#f-stream', '#f-target', '#f-code', '#f-status', '#f-since', '#f-until']) $(id).addEventListener('change', () => loadDeadLetters().catch((e) => banner(e.message, true)));
  $('#dl-all').addEventListener('change', (e) => { deadLetters.forEach((d) => (e.target.checked ? selected.add(d.id) : selected.delete(d.id))); loadDeadLetters(); });
  $('#replay-selected').addEventListener('click', () => { for (const [s, ids] of byStream([...selected])) replay(s, ids); });
  $('#replay-all').addEventListener('click', () => { const s = $('#f-stream').value; if (!s) { banner(t('pickStream'), true); return; } replay(s, [], true); });
  $('#resolve-selected').addEventListener('click', async () => { for (const [s, ids] of byStream([...selected])) await resolve(s, ids); });
  $('#r-go').addEventListener('click', () => loadRecords().catch((e) => banner(e.message, true)));
  $('#r-q').addEventListener('keydown', (e) => { if (e.key === 'Enter') loadRecords().catch((er) => banner(er.message, true)); });
  const start = (location.hash || '#streams').slice(1);
  show(['streams', 'dead', 'records', 'checkpoints'].includes(start) ? start : 'streams');
  setInterval(() => { if (tab === 'streams' || tab === 'checkpoints') refresh(); }, 2000);
});
