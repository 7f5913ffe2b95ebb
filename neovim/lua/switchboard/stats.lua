--- The `switchboard.stats` result as a readable table (the same columns as `switchboard stats`).
local M = {}

--- `value` without JSON nulls: Neovim 0.11 drops them when it decodes a message, 0.12 keeps
--- them as vim.NIL.
local function without_nulls(value)
  if value == vim.NIL then
    return nil
  elseif type(value) ~= 'table' then
    return value
  end
  local copy = {}
  for key, item in pairs(value) do
    copy[key] = without_nulls(item)
  end
  return copy
end

local function num(value)
  return value == nil and '-' or ('%.0f'):format(value)
end

local function failures(by_kind)
  local parts = {}
  for kind, count in vim.spairs(by_kind or {}) do
    parts[#parts + 1] = ('%d %s'):format(count, kind)
  end
  return #parts == 0 and '0' or table.concat(parts, ', ')
end

local function table_lines(header, rows)
  local widths = {}
  for column, cell in ipairs(header) do
    widths[column] = vim.fn.strdisplaywidth(cell)
  end
  for _, row in ipairs(rows) do
    for column, cell in ipairs(row) do
      widths[column] = math.max(widths[column], vim.fn.strdisplaywidth(cell))
    end
  end
  local function render(row)
    local cells = {}
    for column, cell in ipairs(row) do
      cells[column] = cell .. (' '):rep(widths[column] - vim.fn.strdisplaywidth(cell))
    end
    return (table.concat(cells, '  '):gsub('%s+$', ''))
  end
  local lines = { render(header) }
  for _, row in ipairs(rows) do
    lines[#lines + 1] = render(row)
  end
  return lines
end

--- Lines describing a stats result: one row per model, then providers that are not healthy,
--- then the cache.
---@param stats {models: table[], providers?: table<string, table>, cache?: table}
---@return string[]
function M.format(stats)
  stats = type(stats) == 'table' and without_nulls(stats) or {}
  local lines = {}
  local models = stats.models or {}
  if #models == 0 then
    lines[1] = 'No requests recorded yet.'
  else
    local header = {
      'model', 'provider', 'requests', 'ok', 'avail', 'failures', 'p50 ms', 'p95 ms',
      'tokens in/out', 'cost $', '$/Mtok in/out', 'cache fresh/stale', 'edits ok/rejected/unverified',
      'suggestions shown/accepted',
    }
    local rows = {}
    for _, m in ipairs(models) do
      local hits = m.cache_hits or {}
      local avail = type(m.availability) == 'number' and ('%.0f%%'):format(m.availability * 100) or '-'
      local price = '-'
      local p = m.price_per_mtok
      if type(p) == 'table' then
        -- JSON null arrives as vim.NIL: an unknown price shows only where it was looked for.
        if type(p.input) == 'number' and type(p.output) == 'number' then
          price = ('%g/%g'):format(p.input, p.output)
        end
        if type(p.source) == 'string' then
          price = ('%s (%s)'):format(price, p.source)
        end
      end
      local edits = type(m.edits) == 'table' and m.edits or {}
      local taken = type(m.suggestions) == 'table' and m.suggestions or nil
      rows[#rows + 1] = {
        tostring(m.model), tostring(m.provider), tostring(m.requests or 0), tostring(m.ok or 0),
        avail, failures(m.failures_by_kind), num(m.p50_ms), num(m.p95_ms),
        ('%d/%d'):format(m.prompt_tokens or 0, m.completion_tokens or 0),
        ('%.4f'):format(m.cost_usd or 0), price, ('%d/%d'):format(hits.fresh or 0, hits.stale or 0),
        ('%d/%d/%d'):format(edits.verified or 0, edits.rejected or 0, edits.not_verified or 0),
        taken and ('%d/%d'):format(taken.shown or 0, taken.accepted or 0) or '-',
      }
    end
    lines = table_lines(header, rows)
  end
  local unhealthy = {}
  for name, health in vim.spairs(type(stats.providers) == 'table' and stats.providers or {}) do
    if health.state == 'cooling_down' then
      local failed = health.consecutive_failures or 0
      unhealthy[#unhealthy + 1] = ('provider %s: cooling down, %.0f s left (%d failure%s in a row)'):format(
        name, health.cooling_for_s or 0, failed, failed == 1 and '' or 's')
    elseif health.state == 'disabled' then
      unhealthy[#unhealthy + 1] = ('provider %s: disabled (%s)'):format(name, tostring(health.disabled_reason))
    end
  end
  if #unhealthy > 0 then
    lines[#lines + 1] = ''
    vim.list_extend(lines, unhealthy)
  end
  local cache = stats.cache
  if type(cache) == 'table' and cache.entries then
    lines[#lines + 1] = ''
    lines[#lines + 1] = ('cache: %d entries, %.0f KiB'):format(cache.entries, (cache.bytes or 0) / 1024)
  end
  local budget = stats.budget
  if type(budget) == 'table' and type(budget.today_usd) == 'number' then
    lines[#lines + 1] = ''
    lines[#lines + 1] = ('spent: $%.4f today, $%.4f this month'):format(budget.today_usd, budget.month_usd or 0)
    for _, limit in ipairs(type(budget.limits) == 'table' and budget.limits or {}) do
      local scope = limit.scope == 'overall' and '' or (' (%s)'):format(limit.scope)
      lines[#lines + 1] = ('  %s limit%s: $%.4f of $%.2f'):format(limit.period, scope, limit.spent_usd, limit.limit_usd)
    end
    if budget.state == 'reached' then
      lines[#lines + 1] = 'budget reached: only free models and the cache answer until it resets'
    end
  end
  return lines
end

return M
