-- long strings, escapes, string comparison, tostring of booleans and nil
local long = [[
line1
line2]]
local esc = "tab\tnew\\n \65\066\x43 \u{48}\z
             continued"
return #long, long:sub(1, 5), esc, tostring(nil), tostring(true), tostring(false), ("%d"):rep(3, " "), ("x"):len()
