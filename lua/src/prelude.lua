-- Run once in every fresh interpreter (see lib.rs): Redis 7.0's script environment on a
-- stock Lua 5.1. Redis patches its Lua with read-only tables; here the same effect comes
-- from proxies: scripts run with `env` as their globals, which reads through to the real
-- globals table and refuses every write, and each library table is a read-only proxy too.
local bridge, G = ...
local debug, error, rawget, rawset, setmetatable, type, tostring =
    debug, error, rawget, rawset, setmetatable, type, tostring

local READONLY = 'Attempt to modify a readonly table'
local readonly = setmetatable({}, { __mode = 'k' })
local function deny() error(READONLY, 2) end

local function protect(t)
  local p = setmetatable({}, { __index = t, __newindex = deny, __metatable = false })
  readonly[p] = true
  return p
end

local redis = bridge.redis
local unwrap = bridge.unwrap

-- The error handler Redis 7.0 installs for every script (`__redis__err__handler`): errors
-- become tables, with where the script was when it failed. Frames of this prelude (the
-- redis.call wrapper, the protected tables' metamethods) and C functions are skipped.
local getinfo = debug.getinfo
local function handler(err)
  local level = 2
  local i = getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '=redish') do
    level = level + 1
    i = getinfo(level, 'nSl')
  end
  if type(err) == 'userdata' then
    -- Raised by a Rust function: redis.call's error table, or a message that, as
    -- luaL_error's, tells where the script called it.
    local plain
    err, plain = unwrap(err)
    if plain and i and i.currentline > 0 then
      err = i.short_src .. ':' .. i.currentline .. ': ' .. err
    end
  end
  if type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
bridge.handler = handler
rawset(G, '__redis__err__handler', handler)

-- Lua's own pcall and xpcall see Rust errors as Redis's C functions raise them.
local pcall, xpcall, select, unpack = pcall, xpcall, select, unpack
-- As Redis 7.0's pcall: an error table caught comes back as its `err` string.
local function unwrapped(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = unwrap(e) end
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then e = rawget(e, 'err') end
  return false, e
end
rawset(G, 'pcall', function(f, ...) return unwrapped(pcall(f, ...)) end)
rawset(G, 'xpcall', function(f, h)
  return xpcall(f, function(e)
    if type(e) == 'userdata' then e = unwrap(e) end
    return h(e)
  end)
end)

-- What Redis 7.0 leaves out of the base library.
for _, name in ipairs({ 'print', 'getfenv', 'setfenv', 'dofile', 'loadfile', 'newproxy',
                        'debug', 'module', 'require', 'package', 'os', 'io' }) do
  rawset(G, name, nil)
end

rawset(G, 'rawset', function(t, k, v)
  if readonly[t] then error(READONLY, 0) end
  return rawset(t, k, v)
end)

for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson',
                        'cmsgpack', 'struct' }) do
  local lib = rawget(G, name)
  if lib then rawset(G, name, protect(lib)) end
end

-- The scripts' globals: reads go to G, a missing name is an error, every write refused.
local env_meta = { __index = G, __newindex = deny }
env_meta.__metatable = protect(env_meta)
local env = setmetatable({}, env_meta)
readonly[env] = true
setmetatable(G, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = deny,
  __metatable = false,
})
rawset(G, '_G', env)
bridge.env = env

-- Runs a compiled script under the handler: ok, value-or-error-table.
bridge.run = function(f)
  return xpcall(f, handler)
end

if bridge.load_redis then
  -- The interpreter of functions (FUNCTION LOAD, FCALL). A library's code runs with its own
  -- globals, `fenv`, in two modes as Redis's `luaEngineCreate` swaps them: while it loads,
  -- only the loading API is there (a `redis` table of register_function, log and the
  -- constants; any other name is a missing global, `string` and `error` too); once loaded,
  -- its functions see the usual globals (without KEYS and ARGV: a function gets its keys
  -- and arguments as parameters).
  local missing = "Script attempted to access nonexistent global variable '"
  local load_redis = bridge.load_redis
  local strict_redis = setmetatable({}, {
    __index = function(_, k)
      local v = rawget(load_redis, k)
      if v == nil then error(missing .. tostring(k) .. "'", 2) end
      return v
    end,
    __newindex = deny,
    __metatable = false,
  })
  readonly[strict_redis] = true
  local loading = false
  local fenv = setmetatable({}, {
    __index = function(_, k)
      local v
      if loading then
        if k == 'redis' then v = strict_redis end
      else
        v = rawget(G, k)
      end
      if v == nil then error(missing .. tostring(k) .. "'", 2) end
      return v
    end,
    __newindex = deny,
    __metatable = false,
  })
  readonly[fenv] = true
  rawset(G, '_G', fenv)
  bridge.fenv = fenv
  -- Runs a library's compiled code in loading mode: ok, error-table.
  bridge.load = function(f)
    loading = true
    local ok, err = xpcall(f, handler)
    loading = false
    return ok, err
  end
  -- Calls a function with its keys and arguments.
  bridge.call_function = function(f, keys, args)
    return xpcall(function() return f(keys, args) end, handler)
  end
end
