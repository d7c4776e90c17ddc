/** Every part of the soak, in the order `make soak` runs them. */
import { objectsPart } from './objects.js';
import type { SoakPart } from './soak.js';

/** The parts; each is one file beside this one. */
export const PARTS: readonly SoakPart[] = [objectsPart];
