-- verify.lua: wrk posts POST /v1/verify with a random line of the samples
-- file given after --, each line a certificate number, a tab and the name
-- (bench-gateway.sh and bench-dev-rotate.sh share it). With CLIENTS=K in
-- the environment, each request also carries X-Forwarded-For with one of
-- K addresses, each in a /24 of its own, as a load balancer would send
-- many clients' requests.
local bodies = {}
local clients = tonumber(os.getenv("CLIENTS") or "0")
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
  if clients > 0 then
    local i = math.random(clients) - 1
    headers["X-Forwarded-For"] = string.format("%d.%d.%d.7", 11 + math.floor(i / 65536), math.floor(i / 256) % 256, i % 256)
  end
  return wrk.format("POST", "/v1/verify", headers, bodies[math.random(#bodies)])
end
