-- strings holding integers coerce in arithmetic; numbers coerce in concatenation
return "10" + 1, "3" * "4", 10 .. 20, 1 .. "", "0x10" + 0, -"2", math_type_absent == nil
