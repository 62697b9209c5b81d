-- goto for continue and nested breaks; integer for loops with steps
local odd = {}
for i = 1, 10 do
  if i % 2 == 0 then goto continue end
  odd[#odd + 1] = i
  ::continue::
end
local found
for i = 1, 5 do
  for j = 1, 5 do
    if i * j == 12 then found = i .. "x" .. j goto done end
  end
end
::done::
local down = {}
for i = 10, 1, -3 do down[#down + 1] = i end
local none = 0
for _ = 5, 1 do none = none + 1 end
local n, w = 0, 0
while n < 10 do n = n + 3 end
repeat w = w + 1 until w * w > 50
return table.concat(odd, ","), found, table.concat(down, ","), none, n, w
