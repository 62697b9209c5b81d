-- a deterministic serializer (sorted keys) of nested tables with %q strings
local function ser(v, depth)
  depth = depth or 0
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  if depth > 5 then return "..." end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) < type(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do
    local ks = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. ser(k) .. "]"
    parts[#parts + 1] = ks .. "=" .. ser(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end
local data = { name = "lunatik", list = { 3, 1, 2 }, nested = { a = { b = { c = "deep\n" } } },
  [10] = true, [-1] = false, ["with space"] = "x\0y", empty = {} }
return ser(data)
