"""A company's OpenID Connect provider (as Entra ID or Okta would be) for a Cognito user pool to
federate to: discovery, its own signing key at `/jwks`, the authorization code flow with a sign-in
form, `/token` (client_secret_post or client_secret_basic), `/userinfo` and `/logout`.

It keeps what the pool's side depends on: exact redirect URIs, a code good once for 5 minutes and
only for the client and redirect URI it was issued to, `nonce` carried into the ID token, a
`groups` claim that is always a list (empty too), a `sub` that is an opaque id and not the user
name, and a session cookie of its own, so a second sign-in in the same browser asks no password
but still carries the user's groups as they are now (single sign-on, as the real ones do).

    server = CompanyIdpServer(users={"carol": {"password": ..., "email": ..., "name": ..., "groups": [...]}})
    server.start()                                           # issuer: server.url
    server.idp.add_client("notebook-gate", secret, [login_url + "/oauth2/idpresponse"], [portal_url])

Test controls (loopback, no authentication): `PUT /_users/<name>/groups` replaces a user's groups
and `GET /_sign_ins` lists sign-ins (who, which client, when; never a code or a token)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from urllib.parse import unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.login_pages import page, redirect
from local.serve import Server

CODE_LIFETIME_SECONDS = 300
TOKEN_LIFETIME_SECONDS = 3600
SESSION_COOKIE = "company-idp-session"
CSRF_COOKIE = "company-idp-csrf"  # double-submit, as in local/oidc.py: cookie and form field must agree
CSRF_FIELD = "_csrf"

# The demo company's people: groups the gate matches, one it must drop, and none at all.
DEMO_USERS = {
    "carol": {"password": "Carol-demo-pass-1", "email": "carol@corp.example", "name": "Carol Company",
              "groups": ["ml-team"]},
    "dave": {"password": "Dave-demo-pass-1", "email": "dave@corp.example", "name": "Dave Company",
             "groups": ["analysts", "bad group", "x" * 200]},
    "erin": {"password": "Erin-demo-pass-1", "email": "erin@corp.example", "name": "Erin Company", "groups": []},
}


def subject_for(username: str) -> str:
    """A stable opaque user id shaped like Okta's (`00u` and 17 characters): the same name gets the
    same id across restarts, and nothing downstream can mistake it for the name."""
    digest = base64.b32encode(hashlib.sha256(f"company-idp:{username}".encode()).digest()).decode()
    return "00u" + digest[:17].lower()


class CompanyIdp:
    """The provider's state: its key, users, registered clients, pending sign-ins, codes, tokens
    and sessions."""

    def __init__(self, users: dict[str, dict], issuer: str = ""):
        self.issuer = issuer  # set by CompanyIdpServer once its port is bound
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.lock = threading.Lock()
        self.users = {name: {**user, "groups": list(user.get("groups", []))} for name, user in users.items()}
        self.clients: dict[str, dict] = {}  # client id -> {"secret", "redirect_uris"}
        self.pending: dict[str, dict] = {}  # sign-in form id -> the authorize request and its CSRF token
        self.codes: dict[str, dict] = {}  # code -> what it may be exchanged for, once
        self.access_tokens: dict[str, dict] = {}  # access token -> the claims /userinfo answers
        self.sessions: dict[str, str] = {}  # session cookie -> user name
        self.sign_ins: list[dict] = []

    def add_client(self, client_id: str, secret: str, redirect_uris: list[str], onward_origins: list[str] = ()):
        """Registers a client. `onward_origins`: where the client sends the browser on to after us
        (managed login: the portal). Browsers check form-action on every redirect that follows a
        posted form, so the sign-in form must allow those origins too."""
        with self.lock:
            self.clients[client_id] = {"secret": secret, "redirect_uris": set(redirect_uris),
                                       "onward_origins": set(onward_origins)}

    def set_groups(self, username: str, groups: list[str]) -> bool:
        with self.lock:
            if username not in self.users:
                return False
            self.users[username]["groups"] = list(groups)
            return True

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["iss", "aud", "sub", "exp", "iat", "nonce", "email", "email_verified", "name",
                                 "preferred_username", "groups"],
        }

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def check_password(self, username: str, password: str) -> bool:
        with self.lock:
            user = self.users.get(username)
        return user is not None and secrets.compare_digest(user["password"].encode(), password.encode())

    def user_claims(self, username: str) -> dict:
        """The user as they are now: a sign-in through the session sees today's groups."""
        with self.lock:
            user = self.users[username]
            return {
                "sub": subject_for(username), "email": user["email"], "email_verified": True,
                "name": user["name"], "preferred_username": username, "groups": list(user["groups"]),
            }

    def issue_code(self, request: dict, username: str, by_session: bool) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": request["client_id"], "redirect_uri": request["redirect_uri"],
                "nonce": request.get("nonce"), "username": username,
                "expires": time.monotonic() + CODE_LIFETIME_SECONDS,
            }
            self.sign_ins.append({"username": username, "client_id": request["client_id"], "time": time.time(),
                                  "by_session": by_session})
        return code

    def client_secret_matches(self, client_id: str, secret: str) -> bool:
        with self.lock:
            client = self.clients.get(client_id)
        return client is not None and secrets.compare_digest(client["secret"].encode(), secret.encode())

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> dict | None:
        """The token response for a code, or None: unknown, used, expired, or another client's."""
        with self.lock:
            grant = self.codes.pop(code, None)  # good once, whatever happens next
        if grant is None or grant["expires"] < time.monotonic():
            return None
        if grant["client_id"] != client_id or grant["redirect_uri"] != redirect_uri:
            return None
        claims = self.user_claims(grant["username"])
        now = int(time.time())
        id_claims = {"iss": self.issuer, "aud": client_id, "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS,
                     "auth_time": now, **claims}
        if grant["nonce"] is not None:
            id_claims["nonce"] = grant["nonce"]
        access_token = secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[access_token] = {"claims": claims, "expires": time.monotonic() + TOKEN_LIFETIME_SECONDS}
        return {
            "id_token": jwt.encode(id_claims, self.key, algorithm="RS256", headers={"kid": self.kid}),
            "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": "openid email profile",
        }

    def userinfo(self, access_token: str) -> dict | None:
        with self.lock:
            grant = self.access_tokens.get(access_token)
        if grant is None or grant["expires"] < time.monotonic():
            return None
        return grant["claims"]


ERROR_PAGE = '<h1 id="error">Sorry, we could not sign you in.</h1>'


class CompanyIdpApp:
    """The provider's HTTP face, a WSGI app."""

    def __init__(self, idp: CompanyIdp):
        self.idp = idp
        self.routes = Map([
            Rule("/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
            Rule("/jwks", endpoint="jwks", methods=["GET"]),
            Rule("/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/authorize", endpoint="sign_in", methods=["POST"]),
            Rule("/token", endpoint="token", methods=["POST"]),
            Rule("/userinfo", endpoint="userinfo", methods=["GET", "POST"]),
            Rule("/logout", endpoint="logout", methods=["GET"]),
            Rule("/_users/<username>/groups", endpoint="groups", methods=["PUT"]),
            Rule("/_sign_ins", endpoint="sign_ins", methods=["GET"]),
        ])

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = self.routes.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **values)
        except (NotFound, MethodNotAllowed) as error:
            response = self._json(error.code, {"error": "not_found" if error.code == 404 else "method_not_allowed"})
        except HTTPException as error:
            response = error.get_response()
        # Query strings, forms and headers here hold codes, passwords and tokens: the path only.
        print(f"company-idp {request.method} {request.path} -> {response.status_code}", flush=True)
        return response(environ, start_response)

    # --- answers ------------------------------------------------------------------------------

    def _json(self, status: int, value, headers: dict | None = None) -> Response:
        return Response(json.dumps(value), status, content_type="application/json",
                        headers={"Cache-Control": "no-store", **(headers or {})})

    def _page(self, status: int, title: str, body: str) -> Response:
        # The sign-in form's answer redirects to a client, and the client on: form-action allows both.
        with self.idp.lock:
            clients = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}"
                       for c in self.idp.clients.values() for u in [*c["redirect_uris"], *c["onward_origins"]]}
        return page(status, title, body,
                    f"default-src 'none'; form-action 'self' {' '.join(sorted(clients))}; frame-ancestors 'none'")

    def _sign_in_form(self, status: int, pending_id: str, csrf: str, username: str = "", error: str = "") -> Response:
        alert = f'<p id="error" role="alert">{html.escape(error)}</p>' if error else ""
        response = self._page(status, "Company sign-in", (
            "<h1>Company sign-in</h1>"
            "<p>Local company identity provider (a stand-in for Entra ID or Okta).</p>"
            f"{alert}"
            '<form method="post" action="/authorize">'
            f'<input type="hidden" name="request" value="{html.escape(pending_id)}">'
            f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(csrf)}">'
            '<p><label for="username">Username</label><br>'
            f'<input id="username" name="username" autocomplete="username" required value="{html.escape(username)}"></p>'
            '<p><label for="password">Password</label><br>'
            '<input id="password" name="password" type="password" autocomplete="current-password" required></p>'
            '<p><button type="submit">Sign in</button></p></form>'
        ))
        response.set_cookie(CSRF_COOKIE, csrf, path="/", httponly=True, samesite="Lax")
        return response

    def _finish(self, request: dict, username: str, by_session: bool) -> Response:
        answer = {"code": self.idp.issue_code(request, username, by_session), "state": request["state"]}
        return redirect(f"{request['redirect_uri']}?{urlencode(answer)}")

    # --- endpoints ----------------------------------------------------------------------------

    def discovery(self, request: Request) -> Response:
        return self._json(200, self.idp.metadata(), {"Access-Control-Allow-Origin": "*"})

    def jwks(self, request: Request) -> Response:
        return self._json(200, self.idp.jwks(), {"Access-Control-Allow-Origin": "*"})

    def authorize(self, request: Request) -> Response:
        idp = self.idp
        query = request.args.to_dict()
        with idp.lock:
            client = idp.clients.get(query.get("client_id", ""))
        # A wrong client or redirect URI gets an error page: redirecting there would be unsafe.
        if client is None or query.get("redirect_uri") not in client["redirect_uris"]:
            return self._page(400, "Error", ERROR_PAGE + "<p>Unknown client or redirect URI.</p>")
        problem = None
        if query.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif "openid" not in query.get("scope", "").split():
            problem = "invalid_scope"
        elif not query.get("state"):
            problem = "invalid_request"
        if problem:
            back = {"error": problem, **({"state": query["state"]} if query.get("state") else {})}
            return redirect(f"{query['redirect_uri']}?{urlencode(back)}")
        with idp.lock:
            username = idp.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if username is not None:  # single sign-on: no password, but the user's groups as they are now
            return self._finish(query, username, by_session=True)
        pending_id, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        with idp.lock:
            idp.pending[pending_id] = {"request": query, "csrf": csrf}
        return self._sign_in_form(200, pending_id, csrf)

    def sign_in(self, request: Request) -> Response:
        idp = self.idp
        form = request.form
        pending_id = form.get("request", "")
        with idp.lock:
            pending = idp.pending.get(pending_id)
        if pending is None:
            return self._page(400, "Error", '<h1 id="error">This sign-in page has expired.</h1>')
        sent, cookie = form.get(CSRF_FIELD, ""), request.cookies.get(CSRF_COOKIE, "")
        if not (secrets.compare_digest(sent, pending["csrf"]) and secrets.compare_digest(cookie, pending["csrf"])):
            return self._page(403, "Error", ERROR_PAGE + "<p>The sign-in form could not be verified.</p>")
        username = form.get("username", "")
        if not idp.check_password(username, form.get("password", "")):
            return self._sign_in_form(400, pending_id, pending["csrf"], username, "Incorrect username or password.")
        session = secrets.token_urlsafe(24)
        with idp.lock:
            idp.pending.pop(pending_id, None)
            idp.sessions[session] = username
        response = self._finish(pending["request"], username, by_session=False)
        response.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")
        response.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="Lax")
        return response

    def token(self, request: Request) -> Response:
        form = request.form
        basic = request.authorization if request.authorization and request.authorization.type == "basic" else None
        posted = "client_secret" in form
        if basic is not None and posted:  # RFC 6749 2.3: one authentication method per request
            return self._json(400, {"error": "invalid_request"})
        if basic is not None:
            # client_secret_basic form-encodes both parts before base64 (RFC 6749 2.3.1).
            client_id, secret = unquote_plus(basic.username or ""), unquote_plus(basic.password or "")
            if form.get("client_id") not in (None, client_id):
                return self._json(400, {"error": "invalid_request"})
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not self.idp.client_secret_matches(client_id, secret):
            return self._json(401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="company-idp"'})
        if form.get("grant_type") != "authorization_code":
            return self._json(400, {"error": "unsupported_grant_type"})
        answer = self.idp.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri", ""))
        if answer is None:
            return self._json(400, {"error": "invalid_grant"})
        return self._json(200, answer)

    def userinfo(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        claims = self.idp.userinfo(token) if token else None
        if claims is None:
            return self._json(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return self._json(200, claims)

    def logout(self, request: Request) -> Response:
        with self.idp.lock:
            self.idp.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = self._page(200, "Signed out", '<h1 id="signed-out">You are signed out of the company.</h1>')
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax")
        return response

    # --- controls for the tests (no authentication: loopback only) ------------------------------

    def groups(self, request: Request, username: str) -> Response:
        groups = request.get_json(force=True, silent=True)  # whatever Content-Type a test sends
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            return self._json(400, {"error": "a JSON list of group names is expected"})
        if not self.idp.set_groups(username, groups):
            return self._json(404, {"error": "no such user"})
        return self._json(200, {"username": username, "groups": groups})

    def sign_ins(self, request: Request) -> Response:
        with self.idp.lock:
            return self._json(200, list(self.idp.sign_ins))


class CompanyIdpServer(Server):
    """The provider on its port (0: a free one); its issuer is its URL, known once constructed."""

    def __init__(self, users: dict[str, dict], port: int = 0):
        self.idp = CompanyIdp(users)
        super().__init__(CompanyIdpApp(self.idp), port)
        self.idp.issuer = self.url
