// The labs, in course order (docs/labs.md): from the first span to sampling.
import { lab as spanAttribute } from "./1-span-attribute.ts";
import { lab as instrument } from "./2-instrument.ts";
import { lab as logAttribute } from "./3-log-attribute.ts";
import { lab as breakIt } from "./4-break-it.ts";
import { lab as collectorDown } from "./5-collector-down.ts";
import { lab as sampling } from "./6-sampling.ts";
import type { Lab } from "./lab.ts";

export const labs: Lab[] = [
  spanAttribute,
  instrument,
  logAttribute,
  breakIt,
  collectorDown,
  sampling,
];
