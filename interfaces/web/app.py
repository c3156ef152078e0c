"""The application factory: :func:`create_app` wires the store, the accounts, the check pool,
the routers, the error pages and the security headers."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from interfaces.web.checks import Checker
from interfaces.web.deps import NotAuthenticated, current_auth
from interfaces.web.jobs import Jobs
from interfaces.web.pages import render
from interfaces.web.routes import account, admin, analysts, api, auth, cases, packages
from interfaces.web.security import Signer
from interfaces.web.settings import WebSettings
from interfaces.web.tus import tus_router
from interfaces.web.uploads import upload_limit
from schemas.profile import Profile, load_profile
from storage.accounts import Accounts, catalogue_url
from storage.store import Store

log = logging.getLogger(__name__)

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# /api/docs: Swagger UI's page has its start-up script inline; its assets are ours
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SWAGGER_VERSION = "5.36.0"  # static/swagger-ui/README.md
PUBLIC_PATHS = ("/login", "/healthz", "/static", "/api/docs", "/api/openapi.json")


@dataclass
class Services:
    settings: WebSettings
    store: Store
    accounts: Accounts
    signer: Signer
    profile: Profile
    upload_limit: int
    checker: Checker
    jobs: Jobs


def build_services(settings: WebSettings) -> Services:
    store = Store(settings.store)
    accounts = Accounts(settings.database_url or catalogue_url(store.root))
    profile = load_profile(settings.profile)
    settings.web_dir.mkdir(parents=True, exist_ok=True)
    checker = Checker(
        accounts.url,
        store.root,
        settings.profile,
        settings.web_dir,
        settings.check_workers,
        settings.check_mode,
    )
    jobs = Jobs(accounts, checker, store.root, settings.profile, settings.web_dir, settings.prefect)
    services = Services(
        settings,
        store,
        accounts,
        Signer(settings.secret(), settings.session_hours * 3600),
        profile,
        upload_limit(profile, settings.upload_limit),
        checker,
        jobs,
    )
    from interfaces.web.casework import follow_revision

    jobs.on_submitted = lambda run: follow_revision(services, run)
    return services


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The web application on ``settings`` (default: ``WebSettings.from_env()``)."""
    settings = settings or WebSettings.from_env()
    svc = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        for upload in svc.accounts.unfinished_uploads():  # left by a stopped service
            runs = svc.accounts.runs_of_upload(upload.id, upload.org_id, "precheck")
            if not any(r.flow_run_id and not r.finished for r in runs):  # else: followed
                svc.jobs.precheck(upload)
        svc.jobs.start()  # the flow runs' follower (with Prefect)
        try:
            yield
        finally:
            svc.jobs.stop()
            svc.checker.shutdown()
            svc.accounts.dispose()

    app = FastAPI(
        title="多测合一 成果包检查服务",
        description="一网通办：测绘单位上传成果包、查看预检报告；脚本用 API 令牌（Bearer）访问。",
        version="1.1",
        docs_url=None,  # served below from the vendored Swagger UI (no CDN)
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.services = svc
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    for module in (auth, packages, cases, analysts, account, admin, api):
        app.include_router(module.router)
    app.include_router(tus_router(settings.web_dir, svc.upload_limit))

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        assets = f"/static/swagger-ui/{{}}?v={SWAGGER_VERSION}"
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=assets.format("swagger-ui-bundle.js"),
            swagger_css_url=assets.format("swagger-ui.css"),
            swagger_favicon_url=assets.format("favicon-32x32.png"),
            swagger_ui_parameters={"validatorUrl": None},  # no badge from another host
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated):
        if _is_api(request) or request.method != "GET":
            return JSONResponse(
                {"detail": "未登录或令牌无效"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        if _is_api(request) or request.method not in ("GET", "POST"):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=headers
            )
        try:
            who = current_auth(request)
        except NotAuthenticated:
            who = None
        return render(
            request,
            "error.html",
            who,
            status_code=exc.status_code,
            code=exc.status_code,
            message=exc.detail,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return JSONResponse(
            {"detail": "请求参数无效", "errors": jsonable_encoder(exc.errors())}, status_code=422
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        docs = request.url.path == "/api/docs"
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else PAGE_CSP)
        if request.url.path not in ("/login",) and not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
