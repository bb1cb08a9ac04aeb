"""A minimal OpenID provider in front of moto's Cognito, standing in for Cognito managed login
(moto has none): discovery, an `/oauth2/authorize` sign-in form whose password check is moto's
`InitiateAuth`, one-time codes bound to the PKCE challenge, `/oauth2/token` (authorization code and
refresh token grants) and `/logout`. It keeps Cognito's rules where the portal meets them: exact
redirect URIs, S256 only, a code is good once for 5 minutes, the token endpoint answers CORS, and
a sign-in leaves a session cookie so a second sign-in needs no password until `/logout`.

The tokens are moto's, signed by its key: the local API Gateway verifies them against its JWKS."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

CODE_LIFETIME_SECONDS = 300  # Cognito's authorization codes are valid for 5 minutes
SESSION_COOKIE = "local-managed-login"


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Provider:
    """The provider's state: the one app client, pending sign-ins, codes and sessions."""

    def __init__(self, *, cognito, region: str, pool_id: str, client_id: str, redirect_uris: list[str]):
        self.cognito = cognito  # a boto3 cognito-idp client on moto
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self.pool_id = pool_id
        self.client_id = client_id
        self.redirect_uris = set(redirect_uris)
        self.lock = threading.Lock()
        self.pending: dict[str, dict] = {}  # sign-in form id -> the authorize request
        self.codes: dict[str, dict] = {}  # code -> what it may be exchanged for, once
        self.sessions: dict[str, str] = {}  # session cookie -> refresh token
        self.expires_in: int | None = None  # report a shorter token lifetime (tests of renewal)
        self.grants: list[dict] = []  # token endpoint uses, without tokens, for the tests

    def metadata(self, base: str) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "jwks_uri": f"{self.cognito.meta.endpoint_url}/{self.pool_id}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    def password_sign_in(self, username: str, password: str) -> dict | None:
        try:
            return self.cognito.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )["AuthenticationResult"]
        except (self.cognito.exceptions.NotAuthorizedException, self.cognito.exceptions.UserNotFoundException):
            return None

    def refresh(self, refresh_token: str) -> dict | None:
        try:
            result = self.cognito.initiate_auth(
                ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )["AuthenticationResult"]
        except Exception:  # moto answers an unknown refresh token with several errors
            return None
        result.setdefault("RefreshToken", refresh_token)
        return result

    def issue_code(self, request: dict, tokens: dict) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": request["client_id"], "redirect_uri": request["redirect_uri"],
                "challenge": request["code_challenge"], "tokens": tokens,
                "expires": time.monotonic() + CODE_LIFETIME_SECONDS,
            }
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, verifier: str) -> dict | None:
        with self.lock:
            grant = self.codes.pop(code, None)  # good once, whatever happens next
        if grant is None or grant["expires"] < time.monotonic():
            return None
        if grant["client_id"] != client_id or grant["redirect_uri"] != redirect_uri:
            return None
        if not verifier or not secrets.compare_digest(pkce_challenge(verifier), grant["challenge"]):
            return None
        return grant["tokens"]

    def token_response(self, tokens: dict, with_id_token: bool = True) -> dict:
        answer = {
            "access_token": tokens["AccessToken"],
            "token_type": "Bearer",
            "expires_in": self.expires_in or tokens.get("ExpiresIn", 3600),
        }
        # moto stamps a refreshed ID token with a new auth_time, which a client rightly rejects as
        # another sign-in (Cognito keeps the first one's): so a refresh answers without one.
        if with_id_token:
            answer["id_token"] = tokens["IdToken"]
            answer["refresh_token"] = tokens["RefreshToken"]
        return answer


def provider_handler(provider: Provider, allowed_origins: set[str]):
    class ManagedLogin(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            # Query strings and forms here hold codes and passwords: log the path only.
            print(f"managed-login {self.command} {urlsplit(self.path).path}", flush=True)

        @property
        def base(self) -> str:
            return f"http://{self.headers.get('Host')}"

        def _send(self, status: int, body: bytes, content_type: str, extra: list[tuple[str, str]] = ()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra:
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value, cors: bool = False):
            extra = []
            origin = self.headers.get("Origin")
            if cors and origin in allowed_origins:
                extra = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
            self._send(status, json.dumps(value).encode(), "application/json", extra)

        def _redirect(self, location: str, extra: list[tuple[str, str]] = ()):
            self._send(302, b"", "text/plain", [("Location", location), *extra])

        def _form(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))

        def _session(self) -> str | None:
            morsel = SimpleCookie(self.headers.get("Cookie") or "").get(SESSION_COOKIE)
            return morsel.value if morsel else None

        def _page(self, status: int, title: str, body: str):
            page = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(title)}</title></head><body><main>{body}</main></body></html>"
            )
            # The sign-in form's answer redirects to the portal, which form-action covers too.
            portals = " ".join(sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in provider.redirect_uris}))
            self._send(status, page.encode(), "text/html; charset=utf-8", [
                ("Content-Security-Policy", f"default-src 'none'; form-action 'self' {portals}; frame-ancestors 'none'"),
                ("Referrer-Policy", "no-referrer"),
            ])

        def _sign_in_form(self, status: int, pending_id: str, username: str = "", error: str = ""):
            alert = f'<p id="error" role="alert">{html.escape(error)}</p>' if error else ""
            self._page(status, "Sign in", (
                "<h1>Sign in</h1>"
                "<p>Local managed login (a stand-in for Amazon Cognito).</p>"
                f"{alert}"
                '<form method="post" action="/oauth2/authorize">'
                f'<input type="hidden" name="request" value="{html.escape(pending_id)}">'
                '<p><label for="username">Username</label><br>'
                f'<input id="username" name="username" autocomplete="username" required value="{html.escape(username)}"></p>'
                '<p><label for="password">Password</label><br>'
                '<input id="password" name="password" type="password" autocomplete="current-password" required></p>'
                '<p><button type="submit">Sign in</button></p></form>'
            ))

        def _authorize(self, query: dict):
            # A wrong client or redirect URI gets an error page: redirecting there would be unsafe.
            if query.get("client_id") != provider.client_id or query.get("redirect_uri") not in provider.redirect_uris:
                return self._page(400, "Error", '<h1 id="error">An error was encountered with the requested page.</h1>'
                                             "<p>Unknown client or redirect URI.</p>")
            problem = None
            if query.get("response_type") != "code":
                problem = "unsupported_response_type"
            elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                problem = "invalid_request"
            if problem:
                back = {"error": problem, **({"state": query["state"]} if "state" in query else {})}
                return self._redirect(f"{query['redirect_uri']}?{urlencode(back)}")
            session = self._session()
            with provider.lock:
                refresh_token = provider.sessions.get(session) if session else None
            tokens = provider.refresh(refresh_token) if refresh_token else None
            if tokens:  # still signed in to managed login: no password asked, as Cognito does
                return self._finish(query, tokens)
            pending_id = secrets.token_urlsafe(16)
            with provider.lock:
                provider.pending[pending_id] = query
            self._sign_in_form(200, pending_id)

        def _finish(self, request: dict, tokens: dict, extra: list[tuple[str, str]] = ()):
            answer = {"code": provider.issue_code(request, tokens)}
            if "state" in request:
                answer["state"] = request["state"]
            self._redirect(f"{request['redirect_uri']}?{urlencode(answer)}", extra)

        def _sign_in(self):
            form = self._form()
            with provider.lock:
                request = provider.pending.get(form.get("request", ""))
            if request is None:
                return self._page(400, "Error", '<h1 id="error">This sign-in page has expired.</h1>'
                                             "<p>Go back to the portal and sign in again.</p>")
            tokens = provider.password_sign_in(form.get("username", ""), form.get("password", ""))
            if tokens is None:
                return self._sign_in_form(400, form["request"], form.get("username", ""),
                                          "Incorrect username or password.")
            with provider.lock:
                provider.pending.pop(form["request"], None)
                session = secrets.token_urlsafe(24)
                provider.sessions[session] = tokens["RefreshToken"]
            cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
            self._finish(request, tokens, [("Set-Cookie", cookie)])

        def _token(self):
            form = self._form()
            grant_type = form.get("grant_type")
            if form.get("client_id") != provider.client_id:
                return self._json(400, {"error": "invalid_client"}, cors=True)
            if grant_type == "authorization_code":
                tokens = provider.redeem_code(form.get("code", ""), form.get("client_id", ""),
                                              form.get("redirect_uri", ""), form.get("code_verifier", ""))
                answer = provider.token_response(tokens) if tokens else None
            elif grant_type == "refresh_token":
                tokens = provider.refresh(form.get("refresh_token", ""))
                answer = provider.token_response(tokens, with_id_token=False) if tokens else None
            else:
                return self._json(400, {"error": "unsupported_grant_type"}, cors=True)
            with provider.lock:
                provider.grants.append({"grant_type": grant_type, "ok": answer is not None})
            if answer is None:
                return self._json(400, {"error": "invalid_grant"}, cors=True)
            self._json(200, answer, cors=True)

        def _logout(self, query: dict):
            if query.get("client_id") != provider.client_id or query.get("logout_uri") not in provider.redirect_uris:
                return self._page(400, "Error", '<h1 id="error">An error was encountered with the requested page.</h1>')
            session = self._session()
            with provider.lock:
                provider.sessions.pop(session, None)
            expired = f"{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
            self._redirect(query["logout_uri"], [("Set-Cookie", expired)])

        def do_GET(self):
            split = urlsplit(self.path)
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            if split.path == f"/{provider.pool_id}/.well-known/openid-configuration":
                # Cognito's discovery document is public and answers any origin.
                body = json.dumps(provider.metadata(self.base)).encode()
                return self._send(200, body, "application/json", [("Access-Control-Allow-Origin", "*")])
            if split.path == "/oauth2/authorize":
                return self._authorize(query)
            if split.path == "/logout":
                return self._logout(query)
            if split.path == "/_grants":
                with provider.lock:
                    return self._json(200, list(provider.grants))
            self._json(404, {"error": "not_found"})

        def do_POST(self):
            path = urlsplit(self.path).path
            if path == "/oauth2/authorize":
                return self._sign_in()
            if path == "/oauth2/token":
                return self._token()
            if path == "/_expires_in":
                seconds = self._form().get("seconds", "")
                with provider.lock:
                    provider.expires_in = int(seconds) if seconds else None
                return self._json(200, {"expires_in": provider.expires_in})
            self._json(404, {"error": "not_found"})

        def do_OPTIONS(self):
            origin = self.headers.get("Origin")
            extra = []
            if origin in allowed_origins:
                extra = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                         ("Access-Control-Allow-Methods", "GET, POST"),
                         ("Access-Control-Allow-Headers", "content-type, authorization")]
            self._send(204, b"", "text/plain", extra)

    return ManagedLogin


class ManagedLoginServer:
    """The provider on its port (0: a free one), served from a thread."""

    def __init__(self, provider: Provider, port: int, allowed_origins: list[str]):
        self.provider = provider
        self.server = ThreadingHTTPServer(("127.0.0.1", port), provider_handler(provider, set(allowed_origins)))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "ManagedLoginServer":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
