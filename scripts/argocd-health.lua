-- Argo CD health of a galleryshare.io object, read from what the operator writes: the Ready,
-- Reconciling and Stalled conditions and status.observedGeneration, in kstatus's order, so that
-- Healthy, Progressing and Degraded agree with kstatus's Current, InProgress and Failed.
-- Uses no Lua string library (no string.*, no methods on strings): scripts from argocd-cm run
-- without it unless resource.customizations.useOpenLibs is set.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function messageOf(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil then
    return c.reason
  end
  return c.type
end

-- Argo CD itself reads every object that is being deleted as Progressing before any script runs;
-- the same here, so that the script alone gives the same answer.
if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

-- No status: the operator has not reported yet (our CRDs default status.observedGeneration to -1,
-- so this is seen only with CRDs that lack that default).
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

-- A status for an older spec (or none yet: -1) says nothing about the current one.
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if observed ~= nil and observed ~= generation then
  hs.status = "Progressing"
  if observed == -1 then
    hs.message = "Waiting for the operator to report status"
  else
    hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation) .. " (status is for generation " .. tostring(observed) .. ")"
  end
  return hs
end

local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = messageOf(reconciling)
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = messageOf(stalled)
  return hs
end

-- Healthy only for Ready=True set for the current generation. The operator always writes Ready
-- with Reconciling or Stalled unless it is True, so the cases below are states it does not write
-- (kstatus would read them as Current); they wait rather than claim health.
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" and (ready.observedGeneration == nil or ready.observedGeneration == generation) then
  hs.status = "Healthy"
  hs.message = messageOf(ready)
  return hs
end
hs.status = "Progressing"
if ready == nil then
  hs.message = "Waiting for the Ready condition"
elseif ready.status == "True" then
  hs.message = "Waiting for the Ready condition of generation " .. tostring(generation)
else
  hs.message = messageOf(ready)
end
return hs
