// A health script run by Debian's lua5.1 (PUC Lua, not Argo CD's gopher-lua) in a sandbox shaped
// like Argo CD's for argocd-cm scripts: no string library (the global removed and the string
// metatable cleared, so that methods on strings fail too), no math, io, coroutine or debug, and an
// os with only time and date. The object becomes the global `obj`, as Argo CD sets it. A script
// that passes here and in Argo CD's own code (argocd-health.ts) depends on no library either
// interpreter happens to provide.
import { execFile, execFileSync } from 'node:child_process';
import type { HealthStatus } from './argocd-health.js';

const LUA = 'lua5.1';

/** Fails with what to install when Debian's lua5.1 is missing (.ci/run installs it). */
export function requireLua51(): void {
  try {
    execFileSync(LUA, ['-v'], { stdio: 'pipe' });
  } catch {
    throw new Error(`${LUA} is not installed; the Argo CD health tests run the health scripts with it. Install it with: apt-get install -y lua5.1`);
  }
}

/** A JSON value as a Lua expression (null becomes nil, as Argo CD's decoder makes it). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`no Lua literal for ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return luaString(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `[${luaString(k)}] = ${luaLiteral(v)}`)
      .join(', ')}}`;
  }
  throw new Error(`no Lua literal for a ${typeof value}`);
}

/** A Lua string literal: every byte outside printable ASCII, and the quote and backslash, as \ddd (three digits always, so that a digit after it is not read as part of it). */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

// Captures what it needs, then takes the libraries away before the script is loaded; the script
// reaches only globals, never these locals. Prints {"status": …, "message": …} (or {"error": …}).
const WRAPPER = `
local gsub, format, byte = string.gsub, string.format, string.byte
local write, setmetatable_ = io.write, debug.setmetatable
local loadstring_, pcall_, type_, tostring_ = loadstring, pcall, type, tostring
local script = __SCRIPT__
obj = __OBJECT__
string, math, io, coroutine, debug = nil, nil, nil, nil, nil
os = { time = os.time, date = os.date }
setmetatable_("", nil)
local function json(s)
  return '"' .. gsub(s, '[%c"\\\\]', function(c) return format('\\\\u%04x', byte(c)) end) .. '"'
end
local chunk, err = loadstring_(script, "=health.lua")
local ok, result
if chunk then ok, result = pcall_(chunk) else ok, result = false, err end
if not ok then
  write('{"error":' .. json(tostring_(result)) .. '}')
elseif type_(result) ~= "table" then
  write('{"error":' .. json("the script returned a " .. type_(result)) .. '}')
else
  write('{"status":' .. json(tostring_(result.status or "")) .. ',"message":' .. json(tostring_(result.message or "")) .. '}')
end
`;

/** The script's answer for one object, run by lua5.1 without the string library. */
export function lua51Health(script: string, object: object): Promise<HealthStatus> {
  const program = WRAPPER.replace(/__SCRIPT__|__OBJECT__/g, (slot) => (slot === '__SCRIPT__' ? luaString(script) : luaLiteral(object)));
  return new Promise((resolve, reject) => {
    const child = execFile(LUA, ['-'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${LUA} failed: ${stderr || err.message}`));
      const answer = JSON.parse(stdout) as HealthStatus & { error?: string };
      if (answer.error) return reject(new Error(`the health script failed in ${LUA} without the string library: ${answer.error}`));
      resolve({ status: answer.status, message: answer.message });
    });
    child.stdin!.end(program);
  });
}
