-- GET one path with fixed headers. Arguments: PATH [HEADER: VALUE]...
function init(args)
  local headers = {}
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  request_text = wrk.format("GET", args[1], headers)
end

function request()
  return request_text
end

function response(status, headers, body)
  count("status_" .. status)
end
