#!/usr/bin/env bash
# Offline checks of the manifests (no cluster needed): renders every kustomization users apply
# (deployment/, deployment/k8s/overlays/replicas, deployment/k8s/overlays/inference-pool) with
# `kubectl kustomize`, validates every built-in object against the Kubernetes OpenAPI schemas (npm
# package kubernetes-models), flags keys that no schema knows (typos the schema check lets through),
# and cross-checks the references between the objects (selectors, ConfigMap, PVC, volumes, named
# ports) and the shutdown arithmetic. The custom resources (InferencePool, HTTPRoute) and the
# cross-overlay invariants (replicas, anti-affinity, PDB, HAProxy's ConfigMap, the pool's selector,
# ports and probe paths against the gateway) are checked by KubernetesManifestsTest, which `mvn verify` runs.
#   deployment/validate.sh            needs kubectl (or kustomize), node and npm (registry access once)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${LORAGATE_VALIDATE_DIR:-${TMPDIR:-/tmp}/loragate-validate}"
mkdir -p "$work"
render() {
  if command -v kubectl >/dev/null; then kubectl kustomize "$1"; else kustomize build "$1"; fi
}
cp "$here/model-upload-pod.yaml" "$work/extra.yaml"
if [ ! -d "$work/node_modules/kubernetes-models" ]; then
  (cd "$work" && npm install --silent --no-audit --no-fund --no-save kubernetes-models@4 js-yaml@4 >/dev/null)
fi
cat > "$work/check.js" <<'JS'
const fs = require('fs'), path = require('path'), yaml = require('js-yaml');
const load = f => yaml.loadAll(fs.readFileSync(f, 'utf8')).filter(Boolean);
const docs = load(process.argv[2]), extra = load(process.argv[3]);
let failed = 0;
const fail = m => { console.log('FAIL ' + m); failed++; };
const ok = m => console.log('ok   ' + m);

// 1. schemas
const classes = {
  'v1/ConfigMap': () => require('kubernetes-models/v1').ConfigMap,
  'v1/PersistentVolumeClaim': () => require('kubernetes-models/v1').PersistentVolumeClaim,
  'v1/Service': () => require('kubernetes-models/v1').Service,
  'v1/Pod': () => require('kubernetes-models/v1').Pod,
  'v1/ServiceAccount': () => require('kubernetes-models/v1').ServiceAccount,
  'apps/v1/Deployment': () => require('kubernetes-models/apps/v1').Deployment,
  'apps/v1/StatefulSet': () => require('kubernetes-models/apps/v1').StatefulSet,
  'batch/v1/Job': () => require('kubernetes-models/batch/v1').Job,
  'policy/v1/PodDisruptionBudget': () => require('kubernetes-models/policy/v1').PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': () => require('kubernetes-models/rbac.authorization.k8s.io/v1').Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': () => require('kubernetes-models/rbac.authorization.k8s.io/v1').RoleBinding,
};
// custom resources: their CRDs are not in kubernetes-models (KubernetesManifestsTest checks them)
const custom = new Set(['inference.networking.k8s.io/v1/InferencePool', 'gateway.networking.k8s.io/v1/HTTPRoute']);
const builtIn = d => !custom.has(`${d.apiVersion}/${d.kind}`);
for (const d of [...docs, ...extra]) {
  const key = `${d.apiVersion}/${d.kind}`;
  if (!builtIn(d)) { ok(`custom resource ${key} ${d.metadata.name} (schema not checked here)`); continue; }
  try { new (classes[key]())(d).validate(); ok(`schema ${key} ${d.metadata.name}`); }
  catch (e) { fail(`schema ${key} ${d.metadata && d.metadata.name}: ${e.message}`); }
}

// 2. unknown keys
const known = new Set();
for (const dir of ['node_modules/kubernetes-models/_schemas', 'node_modules/@kubernetes-models/apimachinery/_schemas']) {
  for (const f of fs.readdirSync(path.join(__dirname, dir)).filter(f => f.endsWith('.js'))) {
    const src = fs.readFileSync(path.join(__dirname, dir, f), 'utf8');
    for (const m of src.matchAll(/data\.([A-Za-z_$][\w$]*)/g)) known.add(m[1]);
    for (const m of src.matchAll(/data\["([^"]+)"\]/g)) known.add(m[1]);
  }
}
const freeMaps = new Set(['labels', 'annotations', 'data', 'stringData', 'matchLabels', 'selector', 'requests', 'limits']);
let unknown = 0;
const walk = (o, p) => {
  if (Array.isArray(o)) return o.forEach((v, i) => walk(v, `${p}[${i}]`));
  if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) {
    if (!known.has(k) && k !== 'apiVersion' && k !== 'kind') { fail(`unknown field ${p}.${k}`); unknown++; }
    if (!freeMaps.has(k)) walk(v, `${p}.${k}`);
  }
};
[...docs, ...extra].filter(builtIn).forEach(d => walk(d, `${d.kind}/${d.metadata.name}`));
if (!unknown) ok('no unknown fields');

// 3. references and arithmetic
const byKind = k => docs.filter(d => d.kind === k);
const named = (k, n) => byKind(k).find(d => d.metadata.name === n);
const dep = named('Deployment', 'loragate'), svc = named('Service', 'loragate');
const tpl = dep.spec.template, spec = tpl.spec, c = spec.containers[0];
const subset = (a, b) => Object.entries(a).every(([k, v]) => b[k] === v);
subset(dep.spec.selector.matchLabels, tpl.metadata.labels) ? ok('deployment selector matches its pods') : fail('deployment selector');
subset(svc.spec.selector, tpl.metadata.labels) ? ok('service selector matches the pods') : fail('service selector');
const portNames = new Set(c.ports.map(p => p.name));
svc.spec.ports.every(p => portNames.has(p.targetPort) || c.ports.some(q => q.containerPort === p.targetPort))
  ? ok('service targetPorts exist') : fail('service targetPort');
for (const pr of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
  portNames.has(c[pr].httpGet.port) ? ok(`${pr} ${c[pr].httpGet.path} on port ${c[pr].httpGet.port}`) : fail(`${pr} port`);
}
const cms = new Set(byKind('ConfigMap').map(d => d.metadata.name));
c.envFrom.every(e => cms.has(e.configMapRef.name)) ? ok('envFrom ConfigMap exists') : fail('envFrom ConfigMap');
const pvcs = new Set(byKind('PersistentVolumeClaim').map(d => d.metadata.name));
spec.volumes.filter(v => v.persistentVolumeClaim).every(v => pvcs.has(v.persistentVolumeClaim.claimName))
  ? ok('PVC exists') : fail('PVC claimName');
const vols = new Set(spec.volumes.map(v => v.name));
c.volumeMounts.every(m => vols.has(m.name)) ? ok('every volumeMount has a volume') : fail('volumeMount without volume');
const cm = named('ConfigMap', 'loragate-config').data;
const dur = s => { const m = /^(\d+)s$/.exec(s || '20s'); if (!m) throw new Error('not seconds: ' + s); return +m[1]; };
const preStop = +c.lifecycle.preStop.exec.command[1];
const drain = dur(cm.LORAGATE_ENGINE_DRAIN_TIMEOUT), http = dur(cm.QUARKUS_SHUTDOWN_TIMEOUT);
const grace = spec.terminationGracePeriodSeconds;
grace > preStop + http + drain
  ? ok(`terminationGracePeriodSeconds ${grace} > preStop ${preStop} + HTTP wait ${http} + engine drain ${drain}`)
  : fail(`terminationGracePeriodSeconds ${grace} <= ${preStop} + ${http} + ${drain}`);
const ro = c.securityContext.readOnlyRootFilesystem, mounts = c.volumeMounts.map(m => m.mountPath);
const env = Object.fromEntries(c.env.filter(e => e.value).map(e => [e.name, e.value]));
ro && mounts.includes('/tmp') && mounts.includes(env.DJL_CACHE_DIR) && mounts.includes(cm.LORAGATE_DATA_DIR)
  ? ok('read-only root: /tmp, the DJL cache and the data dir are volumes') : fail('a writable path is not a volume');
process.exit(failed ? 1 : 0);
JS
cd "$work"
failed=0
for overlay in "$here" "$here/k8s/overlays/replicas" "$here/k8s/overlays/inference-pool"; do
  echo "== deployment${overlay#"$here"}"
  render "$overlay" > "$work/rendered.yaml"
  node check.js rendered.yaml extra.yaml || failed=1
done
exit "$failed"
