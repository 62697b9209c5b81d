-- string.match with classes, anchors, captures and position captures
local date = "2026-11-23"
local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
return y, m, d, ("key = value"):match("^(%w+)%s*=%s*(%w+)$"), ("  trim  "):match("^%s*(.-)%s*$"), ("abc"):match("()b()"), ("[x]"):match("%[(.)%]"), ("f(a(b)c)"):match("%b()")
