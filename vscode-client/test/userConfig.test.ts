import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_TEMPLATE, userConfigPath } from '../src/userConfig';

describe('the user config file', () => {
  it('is the configPath setting when set (with ~ expanded)', () => {
    assert.equal(userConfigPath('/etc/sb.toml', { SWITCHBOARD_CONFIG: '/x.toml' }, 'linux', '/home/me'), '/etc/sb.toml');
    assert.equal(userConfigPath('~/sb.toml', {}, 'linux', '/home/me'), '/home/me/sb.toml');
  });

  it('is $SWITCHBOARD_CONFIG next, as the server looks it up', () => {
    assert.equal(userConfigPath('', { SWITCHBOARD_CONFIG: '/x.toml' }, 'linux', '/home/me'), '/x.toml');
  });

  it('is where platformdirs puts it otherwise', () => {
    assert.equal(userConfigPath('', {}, 'linux', '/home/me'), '/home/me/.config/switchboard/config.toml');
    assert.equal(userConfigPath('', { XDG_CONFIG_HOME: '/cfg' }, 'linux', '/home/me'), '/cfg/switchboard/config.toml');
    assert.equal(userConfigPath('', { XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/me'), '/home/me/.config/switchboard/config.toml');
    assert.equal(
      userConfigPath('', {}, 'darwin', '/Users/me'),
      '/Users/me/Library/Application Support/switchboard/config.toml',
    );
    assert.equal(
      userConfigPath('', { LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32', 'C:\\Users\\me'),
      'C:\\Users\\me\\AppData\\Local\\switchboard\\switchboard\\config.toml',
    );
  });

  it('starts fully commented out, so the built-in defaults keep working', () => {
    const active = CONFIG_TEMPLATE.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
    assert.deepEqual(active, []);
    assert.match(CONFIG_TEMPLATE, /# \[routes\]/);
  });
});
