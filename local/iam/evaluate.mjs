// Answers "would IAM allow this request?" with @cloud-copilot/iam-simulate, which carries AWS's
// Service Authorization Reference (every action's resource types and condition keys, and which
// actions accept only "*"). Test and local-stack tooling only: the package is AGPL and is never
// part of the function.
//
// A long-lived process: one JSON request per line on stdin, one JSON answer per line on stdout,
// in order, so each check costs a simulation and not a Node start.
//
//   request: {"action": "sagemaker:ListTags", "resource": "arn:...", "principal": "arn:...",
//             "context": {"aws:ResourceTag/owner": "x"}, "policies": [{"name": "...", "policy": {...}}]}
//   answer:  {"decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied",
//             "allowedBy": ["<policy name>#<statement sid or index>", ...], "ignoredContextKeys": [...]}
//        or  {"error": "<why the request is not one AWS would evaluate>"}
//
// An action that must use "*" (sagemaker:ListSpaces, say) asked about with an ARN, an ARN of a
// resource type the action does not take, an unknown action or condition key, or an invalid
// policy: all are errors, never a decision.

import { createInterface } from 'node:readline'
import { anonymousPrincipal, runSimulation } from '@cloud-copilot/iam-simulate'

// A request may also carry `resourcePolicy` (a policy document on the resource, such as a private
// API's), and `principal` may be "anonymous": a caller IAM does not know, as API Gateway sees a
// request whose authorizer is Cognito's. The account is then the resource's.
async function evaluate(request) {
  const { action, resource, principal, context = {}, policies = [], resourcePolicy } = request
  if (typeof action !== 'string' || typeof resource !== 'string' || typeof principal !== 'string') {
    return { error: 'action, resource and principal are required strings' }
  }
  const anonymous = principal === 'anonymous'
  const accountId = (anonymous ? resource : principal).split(':')[4]
  const simulation = {
    request: {
      principal: anonymous ? anonymousPrincipal : principal,
      action,
      resource: { resource, accountId },
      contextVariables: context
    },
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {})
  }
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    return { error: response.errors.message, details: response.errors }
  }
  const results = response.resultType === 'single' ? [response.result] : response.results
  const allowedBy = results.flatMap((r) =>
    (r.analysis?.identityAnalysis?.allowStatements ?? []).map(
      (s) => `${s.policyId ?? ''}#${s.explain?.identifier ?? ''}`
    )
  )
  const ignoredContextKeys = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  return { decision: response.overallResult, allowedBy, ignoredContextKeys }
}

// A decision depends only on the request, and the local stack asks the same few again and again
// (ListTags on each notebook for every list): matching an ARN against every resource type an action
// takes is most of a simulation's time (10-20 ms for sagemaker:ListTags), so answers are remembered.
const remembered = new Map()
const REMEMBER_AT_MOST = 10000

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer = remembered.get(line)
  if (answer === undefined) {
    try {
      answer = JSON.stringify(await evaluate(JSON.parse(line)))
    } catch (error) {
      answer = JSON.stringify({ error: `evaluator failed: ${error?.message ?? error}` })
    }
    if (remembered.size >= REMEMBER_AT_MOST) remembered.clear()
    remembered.set(line, answer)
  }
  process.stdout.write(answer + '\n')
}
