-- Hold one seat, then release the hold, as fast as the connections allow.
-- Arguments: MEMBERS_FILE CONCERT_ID FIRST_SEAT LAST_SEAT
-- MEMBERS_FILE has "member_id token" per line. Each thread takes every n-th member
-- (n = thread count), so no two threads act as one member. A granted hold's release is
-- the next request any of the thread's connections sends, with the token of the member
-- the answer names. Counts: granted, refused (409), released, other_<status>.
local members = {}
local token_of = {}
local pending = {}
local next_member = 1
local concert, first_seat, last_seat

function init(args)
  local threads = tonumber(wrk.thread:get("thread_total"))
  local index = tonumber(wrk.thread:get("thread_index"))
  local n = 0
  for line in io.lines(args[1]) do
    local id, token = line:match("^(%d+) (%S+)$")
    if n % threads == index then
      table.insert(members, token)
      token_of[id] = token
    end
    n = n + 1
  end
  concert = args[2]
  first_seat = tonumber(args[3])
  last_seat = tonumber(args[4])
  math.randomseed(os.time() + index * 7919)
end

function request()
  local release = table.remove(pending)
  if release then
    return wrk.format("DELETE", "/api/v1/holds/" .. release.id,
      {["Authorization"] = "Bearer " .. release.token})
  end
  local token = members[next_member]
  next_member = next_member % #members + 1
  local seat = math.random(first_seat, last_seat)
  return wrk.format("POST", "/api/v1/concerts/" .. concert .. "/holds",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
    '{"seat_ids": [' .. seat .. ']}')
end

function response(status, headers, body)
  if status == 201 then
    count("granted")
    local id = body:match('"id"%s*:%s*(%d+)')
    local member = body:match('"member_id"%s*:%s*(%d+)')
    table.insert(pending, {id = id, token = token_of[member]})
  elseif status == 200 then
    count("released")
  elseif status == 409 then
    count("refused")
  else
    count("other_" .. status)
  end
end
