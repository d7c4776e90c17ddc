/** Every part of the soak, in the order `make soak` runs them. */
import { pathsPart } from './paths.js';
import { pinsPart } from './pins.js';
import type { SoakPart } from './soak.js';

/** The parts; each is one file beside this one. */
export const PARTS: readonly SoakPart[] = [pathsPart, pinsPart];
