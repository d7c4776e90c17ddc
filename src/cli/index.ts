/** The ebpf-mcp executable's entry (bin/ebpf-mcp loads its bundle, dist/ebpf-mcp.mjs). */
import { main } from './main.js';

// Exit at once: an HTTP connection kept alive would hold the process open for seconds (stdout is synchronous on Linux pipes).
process.exit(await main(process.argv.slice(2)));
