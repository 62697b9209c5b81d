-- a state keeps its globals between executes; run twice by the test, this returns 1 then 2
runs = (runs or 0) + 1
return runs
