/**
 * An object's parameters: its `const volatile` globals in `.rodata` (libbpf-tools style), which the
 * programs read as constants. load_program sets the ones given, encoded from the object's BTF into
 * the section's bytes, before load, and reports every parameter with the value in force.
 */
import { type DataGlobal, EncodeError, compileDecoder, elfSection, encodeValue } from '../btf/index.js';
import { invalid } from '../errors.js';
import type { BpfObject } from '../kernel/object.js';
import { closestName } from '../suggest.js';
import { objectGlobals } from '../obj/object-globals.js';

/** One parameter as load_program reports it. */
export interface ParameterRow {
  name: string;
  /** The C type, without its qualifiers: `__u32`, `char[16]`. */
  type: string;
  /** The value in force, as the decoder renders it. */
  value: unknown;
}

/** The section whose `const volatile` globals are parameters. */
const RODATA = '.rodata';

/** Why `name` cannot be set: it is not a parameter, or no global of that name exists. The object's names are in the context only. */
function notAParameter(name: string, globals: readonly DataGlobal[], params: readonly ParameterRow[]) {
  const known = params.map((p) => ({ name: p.name, type: p.type }));
  const other = globals.find((g) => g.name === name);
  if (other) {
    return invalid(`parameters.${name}`, `${name} is ${other.constVolatile ? 'a const volatile' : 'a'} global of the section in context.section, not a const volatile global of ${RODATA}: only those can be set before load`, {
      section: other.section,
      parameters: known,
    });
  }
  const near = closestName(name, params.map((p) => p.name));
  const list = known.length
    ? `its ${known.length} parameter(s) are in context.parameters${near ? ', the closest name in context.did_you_mean' : ''}`
    : 'it has no parameters (no const volatile globals in .rodata)';
  return invalid(`parameters.${name}`, `the object has no parameter ${name}; ${list}`, {
    parameters: known,
    ...(near ? { did_you_mean: near } : {}),
  });
}

/**
 * Sets the `given` parameters of an object that is open and not loaded yet (VALIDATION_ERROR at
 * `parameters.<name>` for an unknown name or a value that does not fit its type), then returns every
 * parameter of the object with the value in force.
 */
export function applyParameters(obj: BpfObject, elf: Uint8Array, given: Readonly<Record<string, unknown>> = {}): ParameterRow[] {
  const { btf, globals } = objectGlobals(elf);
  const bytes = Uint8Array.from(elfSection(elf, RODATA) ?? []);
  const params = globals.filter((g) => g.section === RODATA && g.constVolatile && g.offset + g.size <= bytes.length);
  const rows = (): ParameterRow[] =>
    btf ? params.map((p) => ({ name: p.name, type: p.ctype, value: compileDecoder(btf, p.typeId)(bytes, p.offset) })) : [];
  const names = Object.keys(given);
  if (names.length === 0) return rows();
  const before = rows();
  for (const name of names) {
    const p = params.find((g) => g.name === name);
    if (!p || !btf) throw notAParameter(name, globals, before);
    try {
      encodeValue(btf, p.typeId, given[name], bytes, p.offset);
    } catch (e) {
      if (!(e instanceof EncodeError)) throw e;
      throw invalid(`parameters.${name}${e.path}`, e.message, { expected: e.ctype, ...e.details, parameters: before.map((r) => ({ name: r.name, type: r.type })) });
    }
  }
  obj.setInitialValue(RODATA, bytes);
  return rows();
}
