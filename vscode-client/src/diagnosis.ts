// What to tell the user when the server is not running: whose fault it is, and what to do.
// Pure, so each case is unit-tested; server.ts shows the result.

import { INSTALL_HINT } from './discovery';

/** The CLI's exit code for a configuration error (docs/DESIGN.md, "Command line"). */
const EXIT_CONFIG = 2;

/** How the server process ended, as far as the extension saw it. */
export interface Exit {
  /** The exit code, or null/undefined when it did not exit (or never started). */
  code: number | null | undefined;
  /** The end of its stderr. */
  stderr: string;
  /** Which setting (or search) chose the program, e.g. `switchboard.serverPath`. */
  origin?: string;
  /** It stopped while starting, rather than after it had been running (a crash loop). */
  atStart: boolean;
}

export interface Advice {
  /** A sentence or two to follow the problem. */
  hint: string;
  /** The buttons, most useful first. */
  actions: string[];
}

const RESTART = 'then run "Switchboard: Restart Server".';

/**
 * Whether the server stopped on a configuration error. Exit code 2 alone is not proof: other
 * programs exit 2 too (`python3 lsp` when serverPath is a Python: "can't open file 'lsp'"), so
 * the last line of stderr must be the server's own error sentence, `switchboard: ...`.
 */
export function isConfigError(exit: Exit): boolean {
  return exit.code === EXIT_CONFIG && lastLine(exit.stderr).startsWith('switchboard: ');
}

/** What to do about a server that is not running. */
export function advise(exit: Exit): Advice {
  if (isConfigError(exit)) {
    return { hint: ` Fix the config file, ${RESTART}`, actions: ['Open Config', 'Show Log', 'Open Settings'] };
  }
  if (!exit.atStart) {
    return { hint: ` The log says why it stopped; ${RESTART}`, actions: ['Show Log', 'Open Settings', 'Open README'] };
  }
  if (exit.code != null && exit.origin === 'switchboard.serverPath') {
    // The program the user chose failed to start, and not on our config error: most likely
    // it is not the `switchboard` executable at all.
    return {
      hint:
        ' Check that switchboard.serverPath is the `switchboard` executable (a Python interpreter with' +
        ` Switchboard installed goes in switchboard.pythonPath), ${RESTART}`,
      actions: ['Open Settings', 'Show Log', 'Open README'],
    };
  }
  return {
    hint: ` ${INSTALL_HINT}, so \`switchboard\` is on PATH, or set switchboard.serverPath or switchboard.pythonPath, ${RESTART}`,
    actions: ['Open Settings', 'Open README', 'Show Log'],
  };
}

export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
