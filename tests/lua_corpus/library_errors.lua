-- argument errors of library functions: the same messages (function names from call info)
local function err(f, ...) local ok, e = pcall(f, ...) return e end
return err(string.char, 256), err(string.rep), err(string.sub), err(table.concat, { {} }),
  err(table.insert, {}, 1, 2, 3), err(setmetatable, 1, {}), err(string.format, "%d", "x"),
  err(string.format, "%y", 1), err(utf8.codepoint, "\xff"), err(coroutine.resume, 1),
  err(select, 0), err(tostring), err(ipairs), err(string.byte, "x", {}),
  err(table.unpack, {}, 1, 1 << 40), err(string.pack, "i17", 1), err(load, 42)
