-- integer literals: hex, hex wrapping, tostring and tonumber of integer strings
return 0x10, 0xffffffffffffffff, 0x7fffffffffffffff, tonumber("42"), tonumber("0x2a"), tonumber("  -17  "),
  tonumber("z", 36), tonumber("777", 8), tonumber("ff", 16), tonumber("nope"), math_is_nil == nil
