-- word counts in a fresh state, with a table that grows and shrinks
-- lunatik-check runs this file in a fresh state of its own (named lua_scenario,
-- maxalloc 1 MiB) and closes it afterwards; a Lua error is a scenario error.
--   lunatik-check --user --scenario examples/scenario.lua --only scenario.lua
local text = string.rep("the quick brown fox jumps over the lazy dog ", 50)
local counts = {}
for word in text:gmatch("%a+") do
  counts[word] = (counts[word] or 0) + 1
end
assert(counts.the == 100 and counts.fox == 50, "word counts")
local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys)
assert(table.concat(keys, ",") == "brown,dog,fox,jumps,lazy,over,quick,the")
for k in pairs(counts) do counts[k] = nil end
collectgarbage()
return #keys
