/**
 * deploy/: every plain manifest validated against the Kubernetes API's JSON schemas (kubernetes-models: types,
 * required fields, enums; it does not refuse unknown fields), the DaemonSet's privileges checked against the
 * systemd unit's, and the Helm chart: values.yaml against values.schema.json, every value a template names present,
 * and the templates rendered here by a renderer of the few template actions they use (.Values paths, quote,
 * .Release.Namespace; anything else fails the test), not by helm, which is not installable here. Rendered with the
 * default values, the chart must give exactly the plain manifests; with others, valid objects that use them.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths.js';

const PLAIN = join(PACKAGE_ROOT, 'deploy', 'kubernetes');
const CHART = join(PACKAGE_ROOT, 'deploy', 'helm', 'ebpf-mcp');

type Obj = Record<string, any>;

/** Every document of the YAML files in `dir`. */
function objectsIn(dir: string): { file: string; obj: Obj }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({ file, obj: d.toJS() as Obj })));
}

/** Validates an object with the kubernetes-models class of its apiVersion and kind (throws with the schema's complaint). */
async function validate(obj: Obj): Promise<void> {
  const [group, version] = (obj.apiVersion as string).includes('/') ? (obj.apiVersion as string).split('/') : ['', obj.apiVersion as string];
  const mod = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`)) as Record<string, new (o: Obj) => { validate(): void }>;
  const Model = mod[obj.kind as string];
  assert.ok(Model, `a model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

/** A value at a dotted path of `values`, or undefined. */
const at = (values: Obj, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), values);

/** Renders a template: `{{ .Values.a.b }}`, `{{ .Values.a | quote }}`, `{{ .Release.Namespace }}`; any other action throws. */
function render(template: string, values: Obj, namespace: string): string {
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, action: string) => {
    if (action === '.Release.Namespace') return namespace;
    const m = /^\.Values\.([A-Za-z0-9_.]+)(\s*\|\s*quote)?$/.exec(action);
    if (!m) throw new Error(`template action outside what this renderer knows: {{ ${action} }}`);
    const v = at(values, m[1] as string);
    if (v === undefined || (typeof v === 'object' && v !== null)) throw new Error(`.Values.${m[1]} is not a scalar in the values`);
    return m[2] ? JSON.stringify(String(v)) : String(v);
  });
}

/** The chart's objects rendered with `values`, by template file. */
function renderChart(values: Obj, namespace = 'ebpf-mcp'): { file: string; obj: Obj }[] {
  const dir = join(CHART, 'templates');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(render(readFileSync(join(dir, file), 'utf8'), values, namespace)).map((d) => ({ file, obj: d.toJS() as Obj })));
}

const defaults = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;

test('every plain manifest (and the Secret example) is a valid object of its kind', async () => {
  const all = [...objectsIn(PLAIN), ...objectsIn(join(PLAIN, 'examples'))];
  assert.deepEqual([...new Set(all.map((o) => o.obj.kind))].sort(), ['DaemonSet', 'Namespace', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount']);
  for (const { file, obj } of all) await assert.doesNotReject(validate(obj), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  for (const { obj } of all) if (obj.kind !== 'Namespace') assert.equal(obj.metadata.namespace, 'ebpf-mcp');
});

test('the DaemonSet: host PID, the systemd unit\'s capabilities and no others, not privileged, node name and tokens wired', () => {
  const ds = objectsIn(PLAIN).find((o) => o.obj.kind === 'DaemonSet')?.obj as Obj;
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostPID, true);
  assert.equal(pod.hostNetwork, undefined);
  const [c] = pod.containers;
  const unit = readFileSync(join(PACKAGE_ROOT, 'packaging', 'systemd', 'ebpf-mcp.service'), 'utf8');
  const caps = (/^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1] ?? '').split(' ').map((x) => x.replace(/^CAP_/, ''));
  assert.deepEqual([...c.securityContext.capabilities.add].sort(), caps.sort());
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(c.securityContext.privileged, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  const args: string[] = c.args;
  const flag = (f: string) => args[args.indexOf(f) + 1];
  assert.deepEqual([flag('-t'), flag('--host'), flag('--node-name')], ['http', '0.0.0.0', '$(NODE_NAME)']);
  assert.equal(c.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  const port = c.ports.find((p: Obj) => p.name === 'mcp');
  assert.equal(String(port.containerPort), flag('--port'));
  assert.equal(c.readinessProbe.tcpSocket.port, 'mcp');
  const tokens = c.volumeMounts.find((m: Obj) => flag('--token-file')?.startsWith(`${m.mountPath}/`));
  const secret = pod.volumes.find((v: Obj) => v.name === tokens?.name)?.secret;
  assert.equal(secret?.defaultMode, 0o400, 'the server refuses a token file others may read');
  const mounts = Object.fromEntries(c.volumeMounts.map((m: Obj) => [m.mountPath, m.readOnly === true]));
  assert.deepEqual(
    { bpf: mounts['/sys/fs/bpf'], btf: mounts['/sys/kernel/btf'], tracing: mounts['/sys/kernel/tracing'] },
    { bpf: false, btf: true, tracing: true },
  );
});

test('the headless Service selects the DaemonSet\'s pods, its port named mcp; the Role lets the CLI list EndpointSlices only', () => {
  const objs = objectsIn(PLAIN).map((o) => o.obj);
  const svc = objs.find((o) => o.kind === 'Service') as Obj;
  const ds = objs.find((o) => o.kind === 'DaemonSet') as Obj;
  assert.equal(svc.spec.clusterIP, 'None');
  assert.deepEqual(svc.spec.selector, ds.spec.template.metadata.labels);
  assert.equal(svc.spec.ports.find((p: Obj) => p.name === 'mcp')?.targetPort, 'mcp');
  const role = objs.find((o) => o.kind === 'Role') as Obj;
  assert.deepEqual(role.rules, [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] }]);
});

test('the chart: values.yaml fits values.schema.json, and every value a template names is in it', () => {
  const ajv = new Ajv({ allErrors: true });
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  assert.ok(ajv.validate(schema, defaults), ajv.errorsText());
  assert.equal(ajv.validate(schema, { ...defaults, port: 'eighty' }), false);
  const dir = join(CHART, 'templates');
  for (const f of readdirSync(dir)) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) assert.notEqual(at(defaults, m[1] as string), undefined, `${f}: .Values.${m[1]}`);
  }
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));
  assert.equal(chart.appVersion, pkg.version);
  assert.equal(defaults.image.tag, pkg.version);
});

test('the chart rendered with its defaults gives exactly the plain manifests (less the Namespace); with other values, valid objects using them', async () => {
  const plain = objectsIn(PLAIN).filter((o) => o.obj.kind !== 'Namespace');
  const rendered = renderChart(defaults);
  assert.deepEqual(rendered.map((o) => [o.file, o.obj]), plain.map((o) => [o.file, o.obj]));
  const other = renderChart({ ...defaults, port: 9000, tokens: { secretName: 'fleet-tokens' }, image: { ...defaults.image, tag: '9.9.9' } }, 'observability');
  for (const { obj } of other) {
    await validate(obj);
    assert.equal(obj.metadata.namespace, 'observability');
  }
  const ds = other.find((o) => o.obj.kind === 'DaemonSet')?.obj as Obj;
  const c = ds.spec.template.spec.containers[0];
  assert.equal(c.image, 'ebpf-mcp:9.9.9');
  assert.equal(c.ports[0].containerPort, 9000);
  assert.equal(c.args[c.args.indexOf('--port') + 1], '9000');
  assert.equal(ds.spec.template.spec.volumes.find((v: Obj) => v.name === 'tokens').secret.secretName, 'fleet-tokens');
  assert.equal(other.find((o) => o.obj.kind === 'Service')?.obj.spec.ports[0].port, 9000);
  assert.throws(() => render('{{ toYaml .Values.resources }}', defaults, 'x'), /outside what this renderer knows/);
});
