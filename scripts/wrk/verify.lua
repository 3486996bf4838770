-- verify.lua: wrk posts POST /v1/verify with a random line of the samples
-- file given after --, each line a certificate number, a tab and the name
-- (bench-gateway.sh and bench-dev-rotate.sh share it).
local bodies = {}
function init(args)
  for line in io.lines(args[1]) do
    local c, n = line:match("^([^\t]+)\t(.+)$")
    if c then bodies[#bodies + 1] = '{"certificate_number":"' .. c .. '","name":"' .. n .. '"}' end
  end
  local seed = tonumber(tostring({}):match("0x(%x+)"), 16) or 0
  math.randomseed(os.time() + seed % 100000)
end
local headers = { ["Content-Type"] = "application/json" }
function request()
  return wrk.format("POST", "/v1/verify", headers, bodies[math.random(#bodies)])
end
