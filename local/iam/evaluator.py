"""The Python side of local/iam/evaluate.mjs: one long-lived Node process that answers IAM
questions with @cloud-copilot/iam-simulate (AWS's own authorization data), shared by the callers of
one process and safe to use from several threads.

    with Evaluator() as iam:
        decision = iam.evaluate("sagemaker:ListSpaces", "*", principal, policies, context={})
        decision.allowed            # True / False
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).with_name("evaluate.mjs")


class EvaluatorMissing(RuntimeError):
    """Node or the pinned packages are not installed."""


class InvalidRequest(ValueError):
    """A request AWS would never evaluate as asked: an ARN for an action that must use "*", a
    resource type the action does not take, an unknown action, an invalid policy."""


# The principal of a request IAM does not authenticate (API Gateway behind a Cognito authorizer).
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Decision:
    result: str  # "Allowed", "ImplicitlyDenied" or "ExplicitlyDenied"
    allowed_by: tuple[str, ...]  # "<policy name>#<statement sid>" of each allowing statement
    ignored_context_keys: tuple[str, ...]  # keys given that do not apply to this action

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


class Evaluator:
    def __init__(self):
        node = shutil.which("node")
        if node is None:
            raise EvaluatorMissing("node is not installed; the IAM evaluator runs on Node")
        if not (ROOT / "node_modules/@cloud-copilot/iam-simulate").is_dir():
            raise EvaluatorMissing("@cloud-copilot/iam-simulate is not installed: run `npm ci` in the repository")
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [node, str(PROGRAM)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    def evaluate(self, action: str, resource: str, principal: str, policies: list[dict],
                 context: dict | None = None, resource_policy: dict | None = None) -> Decision:
        """Whether `principal`, holding the identity-based `policies` ({"name", "policy"} each),
        may do `action` on `resource` with the request `context` (condition keys -> values).
        `resource_policy`: the resource's own policy; `principal` ANONYMOUS: a caller IAM does not
        know (no identity policies then), decided by the resource policy alone."""
        request = {"action": action, "resource": resource, "principal": principal,
                   "context": context or {}, "policies": policies}
        if resource_policy is not None:
            request["resourcePolicy"] = resource_policy
        line = json.dumps(request)
        with self._lock:
            if self._process.poll() is not None:
                raise RuntimeError(f"the IAM evaluator exited with {self._process.returncode}")
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
            answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError("the IAM evaluator closed its output")
        result = json.loads(answer)
        if "error" in result:
            raise InvalidRequest(f"{action} on {resource}: {result['error']}")
        return Decision(result["decision"], tuple(result["allowedBy"]), tuple(result["ignoredContextKeys"]))

    def close(self):
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc):
        self.close()
