-- string.gmatch iteration, frontier pattern
local words, sums = {}, 0
for w in ("one two  three"):gmatch("%a+") do words[#words + 1] = w end
for k, v in ("a=1, b=22, c=333"):gmatch("(%w+)=(%d+)") do sums = sums + tonumber(v) end
local f = {}
for w in ("THE (quick) fox"):gmatch("%f[%a]%a+") do f[#f + 1] = w end
return table.concat(words, "|"), sums, table.concat(f, "|")
