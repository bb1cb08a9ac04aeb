"""IAM as AWS would apply it to the deployed function, for the local stack and the tests:
`render` turns template.yaml into the function role's policies for one parameter set, `evaluator`
asks AWS's own authorization data (through @cloud-copilot/iam-simulate) whether a call is allowed."""
