/**
 * Programs on a sockmap or sockhash: sk_msg sees every sendmsg on the
 * sockets in the map, sk_skb every skb they receive (a stream parser, a
 * stream verdict, or a plain verdict). The map is one of the program's own
 * object by name, or one this session loaded by kernel id.
 */
import * as z from 'zod';
import { type AttachTarget, type MapTarget, createLink, targetMaps } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import { hasLinkType, hasProgramType } from '../kernel/features.js';
import { type AnyHook, defineHook } from './hook.js';
import { name } from './settings.js';

const SOCKMAPS = ['sockmap', 'sockhash'];

const SKB_ATTACH_TYPES = { stream_verdict: 'sk_skb_stream_verdict', stream_parser: 'sk_skb_stream_parser', verdict: 'sk_skb_verdict' } as const;

const map = z
  .union([name, z.int().positive()])
  .describe('A sockmap or sockhash: name in the object, or id');

/** The sockmap or sockhash `wanted` names; VALIDATION_ERROR on `map` listing the ones there are. */
function sockmapOf(target: AttachTarget, wanted: string | number): MapTarget {
  const { own, all } = targetMaps(target);
  const candidates = typeof wanted === 'string' ? own : all;
  const found = candidates.find((m) => (typeof wanted === 'string' ? m.name === wanted : m.id === wanted));
  const sockmaps = candidates.filter((m) => SOCKMAPS.includes(m.typeName));
  const where = typeof wanted === 'string' ? `the object of program ${target.program.id}` : 'the maps this session loaded';
  if (!found) {
    throw new InvalidRequest('map', `no map ${JSON.stringify(wanted)} in ${where}`, {
      sockmaps: sockmaps.map((m) => (typeof wanted === 'string' ? m.name : m.id)),
    });
  }
  if (!SOCKMAPS.includes(found.typeName)) {
    throw new InvalidRequest('map', `map ${found.id} is a ${found.typeName}, not a sockmap or sockhash`, {
      sockmaps: sockmaps.map((m) => (typeof wanted === 'string' ? m.name : m.id)),
    });
  }
  return found;
}

function sockmapHook<S extends z.ZodObject>(
  kind: 'sk_msg' | 'sk_skb',
  summary: string,
  settings: S,
  attachType: (s: z.output<S>) => { type: string; label: string },
): AnyHook {
  return defineHook({
    kind,
    class: 'network',
    summary,
    settings,
    programTypes: [kind],
    available: () =>
      hasProgramType(kind) && hasLinkType('sockmap')
        ? { usable: true, reason: `${kind} programs load and the kernel has sockmap links` }
        : { usable: false, reason: `needs ${kind} programs and sockmap links (Linux 6.10+)` },
    attach(target, s) {
      const m = sockmapOf(target, (s as { map: string | number }).map);
      const { type, label } = attachType(s);
      return { links: [createLink(target, m.fd, type)], point: `${kind}/map ${m.id} (${m.name})${label}` };
    },
    links: {
      types: ['sockmap'],
      describe(l) {
        const label = l.attachType === 'sk_msg_verdict' ? '' : Object.entries(SKB_ATTACH_TYPES).find(([, t]) => t === l.attachType)?.[0];
        if (label === undefined || (kind === 'sk_msg') !== (label === '')) return undefined;
        return `${kind}/map ${l.mapId}${label ? ` ${label}` : ''}`;
      },
    },
  });
}

/** `{"sk_msg": {map}}` */
export const skMsg = sockmapHook(
  'sk_msg',
  'sendmsg on the sockets of a sockmap',
  z.strictObject({ map }),
  () => ({ type: 'sk_msg_verdict', label: '' }),
);

/** `{"sk_skb": {map, attach_type}}` */
export const skSkb = sockmapHook(
  'sk_skb',
  'skbs received by the sockets of a sockmap',
  z.strictObject({
    map,
    attach_type: z.enum(['stream_verdict', 'stream_parser', 'verdict']),
  }),
  (s) => ({ type: SKB_ATTACH_TYPES[s.attach_type], label: ` ${s.attach_type}` }),
);
