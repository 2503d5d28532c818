/** Prints the README topic table rendered from the catalog: `npx tsx libs/contracts/src/scripts/topic-table.ts`. */
import { renderTopicTable } from '../topic-table';

console.log(renderTopicTable());
