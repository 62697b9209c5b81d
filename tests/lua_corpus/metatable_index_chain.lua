-- inheritance through __index chains, __index functions, __metatable protection
local Base = {} Base.__index = Base
function Base.new(n) return setmetatable({ n = n }, Base) end
function Base:name() return "base" .. self.n end
function Base:hello() return "hello from " .. self:name() end
local Derived = setmetatable({}, { __index = Base }) Derived.__index = Derived
function Derived.new(n) return setmetatable(Base.new(n), Derived) end
function Derived:name() return "derived" .. self.n end
local d = Derived.new(7)
local defaults = setmetatable({}, { __index = function(_, k) return "default:" .. k end })
local locked = setmetatable({}, { __metatable = "locked" })
local ok, err = pcall(setmetatable, locked, {})
return Base.new(1):hello(), d:hello(), defaults.anything, getmetatable(locked), ok, err
