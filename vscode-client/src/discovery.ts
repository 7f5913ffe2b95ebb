// Finding the Switchboard server: which program to run, in the order the README promises.
// Pure apart from the `Probe` it is given, so every branch is unit-tested without an editor;
// `hasSwitchboard` is the real probe of an interpreter, tested against real ones.

import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandHome } from './userConfig';

/**
 * How to install the server, in words that work: Switchboard is not on PyPI (the `switchboard`
 * there is an unrelated Pyramid feature-flag package), so it is installed from a clone.
 */
export const INSTALL_HINT =
  'Install it from a clone of Switchboard: `uv tool install /path/to/switchboard` or `pipx install /path/to/switchboard`';

/** The client-only settings that choose the server (all machine-scoped). */
export interface LaunchSettings {
  serverPath: string;
  pythonPath: string;
  configPath: string;
}

/** How the server gets started, and where that choice came from (for messages and the log). */
export interface ServerCommand {
  command: string;
  args: string[];
  origin: string;
}

/** What discovery may ask of the machine; the extension passes the real thing, tests a fake. */
export interface Probe {
  /** Whether `file` exists and may be executed. */
  isExecutable(file: string): Promise<boolean>;
  /** Whether `python -m switchboard` is this Switchboard (see `hasSwitchboard`). */
  hasSwitchboard(python: string): Promise<boolean>;
  /** The interpreter selected in the Python extension, if it is installed and has one. */
  selectedPython(): Promise<string | undefined>;
  /** The PATH entries and executable suffixes (Windows' PATHEXT; [''] elsewhere). */
  path: string[];
  suffixes: string[];
}

export type Discovery = (
  | { ok: true; server: ServerCommand; notes: string[] }
  | { ok: false; problem: string; notes: string[] }
) & {
  /** The Python extension's interpreter, when discovery asked for it (see `interpreterChangeNeedsRestart`). */
  interpreter?: string;
};

const SERVER_PATH = 'switchboard.serverPath';
const INTERPRETER_ORIGIN = 'the Python extension\'s interpreter';
const PYTHON_PATH = 'switchboard.pythonPath';

/**
 * The server to run: `switchboard.serverPath`, else `switchboard.pythonPath`, else the Python
 * extension's interpreter (when it has Switchboard), else `switchboard` on PATH.
 *
 * A setting the user made explicitly is never skipped silently: if it points nowhere, that is
 * the problem reported, rather than quietly running some other server.
 */
export async function discoverServer(settings: LaunchSettings, probe: Probe): Promise<Discovery> {
  const notes: string[] = [];
  const tail = launchArgs(settings.configPath);
  const serverPath = settings.serverPath.trim();
  if (serverPath) {
    if (await probe.isExecutable(serverPath)) {
      return { ok: true, server: { command: serverPath, args: tail, origin: SERVER_PATH }, notes };
    }
    return {
      ok: false,
      problem: `${SERVER_PATH} is set to "${serverPath}", which is not an executable file.`,
      notes,
    };
  }
  const pythonPath = settings.pythonPath.trim();
  if (pythonPath) {
    if (!(await probe.isExecutable(pythonPath))) {
      return {
        ok: false,
        problem: `${PYTHON_PATH} is set to "${pythonPath}", which is not an executable file.`,
        notes,
      };
    }
    if (!(await probe.hasSwitchboard(pythonPath))) {
      return {
        ok: false,
        problem: `${PYTHON_PATH} is "${pythonPath}", but Switchboard is not installed in it (\`${pythonPath} -m pip install /path/to/switchboard\` from a clone).`,
        notes,
      };
    }
    return { ok: true, server: pythonModule(pythonPath, tail, PYTHON_PATH), notes };
  }
  const interpreter = await probe.selectedPython();
  if (interpreter) {
    if (await probe.hasSwitchboard(interpreter)) {
      return { ok: true, server: pythonModule(interpreter, tail, INTERPRETER_ORIGIN), notes, interpreter };
    }
    notes.push(`The selected Python interpreter (${interpreter}) has no Switchboard installed.`);
  }
  const onPath = await findOnPath('switchboard', probe);
  if (onPath) {
    return { ok: true, server: { command: onPath, args: tail, origin: 'PATH' }, notes, interpreter };
  }
  notes.push('No `switchboard` executable was found on PATH.');
  return {
    ok: false,
    problem: 'Switchboard\'s language server was not found.',
    notes,
    interpreter,
  };
}

/** What the Python extension's active environment changed to, and what discovery knew. */
export interface InterpreterChange {
  settings: LaunchSettings;
  /** The interpreter the last discovery got from the Python extension (undefined: none). */
  consulted: string | undefined;
  /** The interpreter selected now. */
  selected: string | undefined;
  /** The workspace folder whose interpreter discovery asks for, and the one that changed (URIs). */
  folder?: string;
  changedFor?: string;
}

/**
 * Whether a new active Python environment means another server. Discovery consults the
 * selected interpreter only when serverPath and pythonPath are empty; then the server came
 * from that interpreter, or from PATH because it had no Switchboard, and either way a
 * different interpreter may change the choice. Another folder's interpreter does not.
 */
export function interpreterChangeNeedsRestart(change: InterpreterChange): boolean {
  if (change.settings.serverPath.trim() || change.settings.pythonPath.trim()) return false;
  if (change.changedFor && change.folder && change.changedFor !== change.folder) return false;
  return change.selected !== change.consulted;
}

/**
 * `lsp`, and `--config PATH` when the user set one, with `~` expanded as Open Config does: no
 * shell runs the server, so it would otherwise look for a directory named `~`.
 */
export function launchArgs(configPath: string, home: string = os.homedir()): string[] {
  const config = configPath.trim();
  return config ? ['lsp', '--config', expandHome(config, home)] : ['lsp'];
}

/** What `hasSwitchboard` runs: the very module the server is started from, asked its version. */
export const VERSION_PROBE = ['-m', 'switchboard', '--version'];

/** Whether `python -m switchboard --version` printed this project's `switchboard X.Y…`. */
export function isSwitchboardVersion(stdout: string): boolean {
  return /^switchboard \d/.test(stdout.trim());
}

/**
 * Whether `python` runs this Switchboard. `import switchboard` is not proof: the unrelated
 * `switchboard` package from PyPI imports too, but has no `python -m switchboard`.
 */
export function hasSwitchboard(python: string, timeoutMs = 15_000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, VERSION_PROBE, { timeout: timeoutMs }, (error, stdout) =>
      resolve(!error && isSwitchboardVersion(String(stdout))),
    );
  });
}

function pythonModule(python: string, tail: string[], origin: string): ServerCommand {
  return { command: python, args: ['-m', 'switchboard', ...tail], origin };
}

/** The first `name` (with any of the probe's suffixes) in the PATH entries that is executable. */
export async function findOnPath(name: string, probe: Probe): Promise<string | undefined> {
  for (const dir of probe.path) {
    if (!dir) continue;
    for (const suffix of probe.suffixes) {
      const candidate = path.join(dir, name + suffix);
      if (await probe.isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** PATH entries and executable suffixes from an environment, as the platform reads them. */
export function searchPath(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): { path: string[]; suffixes: string[] } {
  const delimiter = platform === 'win32' ? ';' : ':';
  const raw = env.PATH ?? env.Path ?? '';
  const suffixes =
    platform === 'win32'
      ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean).map((s) => s.toLowerCase())
      : [''];
  return { path: raw.split(delimiter).filter(Boolean), suffixes };
}
