-- tostring/tonumber of integers and their limits, math.type-free integer checks
return tostring(-0), tostring(0x7fffffffffffffff), tonumber("9223372036854775807"), tonumber("-9223372036854775808"),
  tonumber("10", 2), tonumber("zz", 36), tonumber(""), tonumber("0x"), tonumber("1e"), 3 | 0, "7" // 2
