/** Every part of the soak, in the order `make soak` runs them. */
import { concurrencyPart } from './concurrency.js';
import { killsPart } from './kills.js';
import { objectsPart } from './objects.js';
import { pathsPart } from './paths.js';
import { pinsPart } from './pins.js';
import { protocolPart } from './protocol.js';
import { schemaFuzzPart } from './schema-fuzz.js';
import type { SoakPart } from './soak.js';

/** The parts; each is one file beside this one. */
export const PARTS: readonly SoakPart[] = [objectsPart, schemaFuzzPart, pathsPart, pinsPart, protocolPart, killsPart, concurrencyPart];
