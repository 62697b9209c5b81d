-- objects from closures and from metatables, with inheritance and varargs constructors
local function Account(balance)
  local self = {}
  function self.deposit(v) balance = balance + v return self end
  function self.withdraw(v)
    if v > balance then error("insufficient funds", 2) end
    balance = balance - v
    return self
  end
  function self.balance() return balance end
  return self
end
local acc = Account(100).deposit(50).withdraw(30)
local ok, err = pcall(acc.withdraw, 1000)
local Stack = {} Stack.__index = Stack
function Stack.new(...) return setmetatable({ n = select("#", ...), ... }, Stack) end
function Stack:push(v) self.n = self.n + 1 self[self.n] = v return self end
function Stack:pop() local v = self[self.n] self[self.n] = nil self.n = self.n - 1 return v end
local s = Stack.new(1, 2, 3):push(4):push(5)
local popped = { s:pop(), s:pop() }
return acc.balance(), ok, err, s.n, table.concat(popped, ","), s:pop()
