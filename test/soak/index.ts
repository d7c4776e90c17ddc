/** Every part of the soak, in the order `make soak` runs them. */
import { killsPart } from './kills.js';
import { objectsPart } from './objects.js';
import { pathsPart } from './paths.js';
import { pinsPart } from './pins.js';
import { protocolPart } from './protocol.js';
import type { SoakPart } from './soak.js';

/** The parts; each is one file beside this one. */
export const PARTS: readonly SoakPart[] = [objectsPart, pathsPart, pinsPart, protocolPart, killsPart];
