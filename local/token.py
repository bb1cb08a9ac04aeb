"""Prints a Cognito token for a demo user of the running local stack:
`python -m local.token alice [--id]`. An access token opens the API; an ID token (`--id`) does not,
as with the deployed API (its routes need a scope only access tokens carry): it is for reading
the claims the pool issues."""

import argparse
import json
import sys
from pathlib import Path

from local.stack import DEMO_USERS, ROOT, token


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user", choices=sorted(DEMO_USERS))
    parser.add_argument("--id", action="store_true", help="an ID token instead of an access token (the API refuses it)")
    parser.add_argument("--state", default=str(ROOT / ".local/stack.json"))
    args = parser.parse_args(argv)
    try:
        state = json.loads(Path(args.state).read_text())
    except FileNotFoundError:
        sys.exit("the local stack is not running: start it with `scripts/dev up`")
    print(token(state["moto"], state["client_id"], args.user, "IdToken" if args.id else "AccessToken"))


if __name__ == "__main__":
    main()
