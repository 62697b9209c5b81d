-- floor division and modulo with every sign combination
local out = {}
for _, a in ipairs({7, -7, 0, 13, -13}) do
  for _, b in ipairs({3, -3, 1, -1, 5}) do
    out[#out + 1] = string.format("%d,%d:%d,%d", a, b, a // b, a % b)
  end
end
return table.concat(out, " ")
