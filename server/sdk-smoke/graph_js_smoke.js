// Microsoft's JavaScript Graph client (@microsoft/microsoft-graph-client 3.0.7) against a running
// restore-delta-server over HTTPS, the client unchanged but for `baseUrl` and `customHosts`:
//
//   (cd server/sdk-smoke && npm ci)
//   echo s3cret > /tmp/token
//   cargo run -q -p restore-delta-server -- --in-memory --tls --tls-dir /tmp/rd-tls \
//       --token-file /tmp/token --transitions manual &
//   NODE_EXTRA_CA_CERTS=/tmp/rd-tls/ca.pem node server/sdk-smoke/graph_js_smoke.js \
//       https://127.0.0.1:8443 s3cret
//
// The client sends its token (and `client-request-id`) only to https:// URLs of Graph's hosts
// or of `customHosts`, and its PageIterator follows only such next links: what the server's
// HTTPS is for. Exits 0 when every step answers as Graph documents it; prints each step.

'use strict';
const {
  Client,
  PageIterator,
  BatchRequestContent,
  BatchResponseContent,
  GraphError,
} = require('@microsoft/microsoft-graph-client');

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node graph_js_smoke.js https://127.0.0.1:8443 TOKEN');
  process.exit(2);
}
const host = new URL(base).hostname;
const client = (tok) =>
  Client.init({
    authProvider: (done) => done(null, tok),
    baseUrl: `${base}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([host]),
  });
const graph = client(token);
const SETS = '/solutions/backupRestore/oneDriveForBusinessRestoreSessions';
const TYPE = '#microsoft.graph.oneDriveForBusinessRestoreSession';

function check(cond, what, value) {
  if (!cond) {
    console.error('FAILED:', what, JSON.stringify(value, null, 1));
    process.exit(1);
  }
}

(async () => {
  // Create with a deep insert, as the docs show.
  const created = await graph.api(SETS).post({
    '@odata.type': TYPE,
    driveRestoreArtifacts: [{ destinationType: 'new', restorePoint: { id: 'rp-1' } }],
  });
  check(created.id && created.status === 'draft', 'create', created);
  check(created.createdBy && created.createdBy.application, 'createdBy', created);
  console.log('create:', created.id, created.status);

  // PATCH with an OData delta payload: one entry per item, a 409 for the missing removal.
  const patched = await graph.api(`${SETS}/${created.id}`).patch({
    'driveRestoreArtifacts@delta': [
      { restorePoint: { id: 'rp-2' }, destinationType: 'new' },
      { '@removed': { reason: 'changed' }, id: 'not-there' },
    ],
  });
  const entries = patched['driveRestoreArtifacts@delta'];
  check(entries.length === 2, 'patch entries', patched);
  check(entries[1]['@Core.DataModificationException'], 'the missing removal fails', entries[1]);
  console.log('patch:', entries.length, 'entries');

  // More sessions, then every page of the list through PageIterator (https next links).
  // (On a server that holds sessions already, every one of them is paged through too.)
  const mine = [created.id];
  for (let i = 0; i < 4; i++) mine.push((await graph.api(SETS).post({ '@odata.type': TYPE })).id);
  const first = await graph.api('/solutions/backupRestore/restoreSessions').top(2).get();
  check(first['@odata.nextLink'] && first['@odata.nextLink'].startsWith('https://'), 'https next link', first);
  const ids = [];
  await new PageIterator(graph, first, (s) => {
    ids.push(s.id);
    return true;
  }).iterate();
  check(
    ids.length >= 5 && new Set(ids).size === ids.length && mine.every((id) => ids.includes(id)),
    'PageIterator over every page, each session once',
    ids,
  );
  console.log('PageIterator:', ids.length, 'sessions over', Math.ceil(ids.length / 2), 'pages');

  // Query options.
  const drafts = await graph
    .api('/solutions/backupRestore/restoreSessions')
    .filter("status eq 'draft'")
    .select(['id', 'status'])
    .orderby('createdDateTime desc')
    .count(true)
    .get();
  check(drafts['@odata.count'] >= 5 && drafts.value.every((s) => s.status === 'draft'), '$filter and $count', drafts);
  const members = (s) => Object.keys(s).filter((k) => !k.startsWith('@')).sort().join();
  check(drafts.value.every((s) => members(s) === 'id,status'), '$select (annotations kept)', drafts);
  const expanded = await graph
    .api(`${SETS}/${created.id}`)
    .expand('driveRestoreArtifacts($select=id,status)')
    .get();
  check(expanded.driveRestoreArtifacts && expanded.driveRestoreArtifacts.length === 2, '$expand', expanded);
  const added = await graph
    .api(`${SETS}/${created.id}/driveRestoreArtifacts`)
    .filter("restorePoint/id eq 'rp-2'")
    .get();
  check(added.value.length === 1 && added.value[0].restorePoint.id === 'rp-2', '$filter on artifacts', added);
  try {
    await graph.api('/solutions/backupRestore/restoreSessions').query({ $search: 'x' }).get();
    check(false, 'an unsupported option is refused', null);
  } catch (e) {
    check(e instanceof GraphError && e.statusCode === 400, 'unsupported option: 400', e);
  }
  console.log('query options: $filter $select $orderby $count $expand, $search refused');

  // Errors as GraphError, with Graph's code and request id.
  try {
    await graph.api(`${SETS}/no-such-session`).get();
    check(false, 'a missing session is 404', null);
  } catch (e) {
    check(e instanceof GraphError && e.statusCode === 404, 'GraphError 404', e);
    check(e.code === 'RestoreSessionNotFound' && e.requestId, 'code and request id', e);
  }
  try {
    await client('wrong').api(SETS).get();
    check(false, 'a wrong token is 401', null);
  } catch (e) {
    check(e.statusCode === 401 && e.code === 'InvalidAuthenticationToken', 'GraphError 401', e);
  }
  console.log('errors: 404 RestoreSessionNotFound, 401 InvalidAuthenticationToken');

  // JSON batching with the client's own helpers.
  const url = (path) => `${base}/v1.0${path}`;
  const batch = new BatchRequestContent([
    { id: '1', request: new Request(url(`${SETS}/${created.id}`), { method: 'GET' }) },
    {
      id: '2',
      dependsOn: ['1'],
      request: new Request(url(`${SETS}/${created.id}`), {
        method: 'PATCH',
        body: JSON.stringify({
          'driveRestoreArtifacts@delta': [{ restorePoint: { id: 'rp-3' }, destinationType: 'new' }],
        }),
        headers: { 'Content-Type': 'application/json' },
      }),
    },
    {
      id: '3',
      dependsOn: ['2'],
      request: new Request(url(`/solutions/backupRestore/restoreSessions/${created.id}/activate`), {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
      }),
    },
  ]);
  const answer = new BatchResponseContent(await graph.api('/$batch').post(await batch.getContent()));
  const statuses = {};
  for (const [id, r] of answer.getResponses()) statuses[id] = r.status;
  check(statuses['1'] === 200 && statuses['2'] === 200 && statuses['3'] === 200, 'batch statuses', statuses);
  const activated = await answer.getResponseById('3').json();
  check(activated.status === 'activating', 'activated in the batch', activated);
  console.log('batch:', JSON.stringify(statuses));
  console.log('OK');
})().catch((e) => {
  console.error('FAILED:', e);
  process.exit(1);
});
