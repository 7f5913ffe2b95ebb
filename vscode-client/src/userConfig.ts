// "Switchboard: Open Config": which file the server reads, and what a new one starts with.

import * as path from 'node:path';

/**
 * The config file the server will read, in the server's own lookup order: the configPath
 * setting (passed as --config), `$SWITCHBOARD_CONFIG`, then the user config file where
 * platformdirs puts it (`user_config_dir("switchboard")`).
 */
export function userConfigPath(
  configPath: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  home: string,
): string {
  if (configPath.trim()) return expandHome(configPath.trim(), home);
  if (env.SWITCHBOARD_CONFIG) return env.SWITCHBOARD_CONFIG;
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA || path.win32.join(home, 'AppData', 'Local');
    // platformdirs on Windows: <LOCALAPPDATA>\<author>\<app>, the author defaulting to the app.
    return path.win32.join(local, 'switchboard', 'switchboard', 'config.toml');
  }
  if (platform === 'darwin') {
    return path.posix.join(home, 'Library', 'Application Support', 'switchboard', 'config.toml');
  }
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.config');
  return path.posix.join(base, 'switchboard', 'config.toml');
}

/** `~` or `~/...` in the user's home, as a shell would: the server gets the path as it is. */
export function expandHome(file: string, home: string): string {
  return file === '~' || file.startsWith('~/') ? path.join(home, file.slice(1)) : file;
}

/** A new user config: everything commented out, so the built-in defaults apply until edited. */
export const CONFIG_TEMPLATE = `# Switchboard configuration: which models answer which task, in which order.
# Everything here is commented out, so the built-in defaults apply (a local Ollama, and any of
# SHAREAI_API_KEY, OPENROUTER_API_KEY, OPENAI_API_KEY that is set). Uncomment and edit;
# "switchboard config check" validates the file. The full reference is in the README.
#
# Keys come from environment variables (api_key_env), never from a workspace.

# [providers.shareai]
# base_url = "https://api.shareai.now/v1"   # any OpenAI-compatible base URL
# api_key_env = "SHAREAI_API_KEY"           # env var holding the key; omit for keyless local servers

# [providers.local]
# base_url = "http://127.0.0.1:11434/v1"    # Ollama (LM Studio: :1234, vLLM: :8000, llama.cpp: :8080)

# [models.fast]
# provider = "shareai"
# model = "llama3.1:8b"                     # the provider's model id
# context_window = 32768
# input_cost_per_mtok = 0.05                # USD per million tokens, for stats
# output_cost_per_mtok = 0.10

# [models.strong]
# provider = "shareai"
# model = "qwen2.5-coder:32b"
# context_window = 131072

# [models.local-fast]
# provider = "local"
# model = "qwen2.5-coder:7b"

# [routes]                                  # task -> ordered fallback chain of model aliases
# fix = ["fast", "local-fast", "strong"]
# explain = ["fast", "local-fast"]
# review = ["strong", "fast"]

# [tasks.explain]
# hedge = true                              # race the next model when the first is slow

# [actions.types]                           # your own actions on a selection
# title = "Add type hints"
# prompt = "Add precise type hints to this code. Do not change behaviour."

# [cache]
# ttl_s = 604800                            # fresh for a week; older entries only serve as stale fallback
`;
