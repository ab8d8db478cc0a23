"""The rules lab (paste a text and see ``rules explain``; run ``rules eval`` on a chosen corpus) and the users
page (admins only: add, disable, reset a password, make an API token)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from config.errors import CorpusError, UserError
from monitor.alerts.search import segments
from monitor.alerts.tuning import corpus_files, read_corpus
from monitor.console.deps import checked_form, needs, render, state
from monitor.console.host import corpus_dirs
from monitor.console.security import Viewer
from monitor.console.users import add_user, new_api_token, set_disabled, set_password, set_role
from monitor.rules import Document
from monitor.rules.corpus import evaluate_corpus
from storage import console_repo as repo
from storage.console_models import ROLES

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs("viewer"))]
Poster = Annotated[Viewer, Depends(checked_form("viewer"))]
Admin = Annotated[Viewer, Depends(needs("admin"))]
AdminPost = Annotated[Viewer, Depends(checked_form("admin"))]
MAX_LAB_TEXT = 100_000


def _corpora(request: Request) -> dict[str, Path]:
    """The corpora on offer, by the name the page shows (the path relative to its directory's parent)."""
    found: dict[str, Path] = {}
    for path in corpus_files(corpus_dirs(state(request).host.config)):
        found.setdefault(f"{path.parent.name}/{path.name}", path)
    return found


def _lab(request: Request, found: Viewer, **context: Any) -> HTMLResponse:
    defaults: dict[str, Any] = {"text": "", "title": "", "lang": "", "explanation": None, "report": None,
                                   "corpus": "", "error": ""}
    return render(request, "rules.html", found, corpora=list(_corpora(request)), **{**defaults, **context})


@router.get("/rules", response_class=HTMLResponse)
def rules_lab(request: Request, found: Reader) -> HTMLResponse:
    return _lab(request, found)


@router.post("/rules/explain", response_class=HTMLResponse)
def rules_explain(request: Request, found: Poster, text: Annotated[str, Form()] = "",
                  title: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "") -> HTMLResponse:
    """What ``tocsin rules explain --text`` prints: the rules that fire and why, and the near misses."""
    text, title = text[:MAX_LAB_TEXT], title[:1000]
    document = Document(id="lab", text=text, title=title, lang=lang or None)
    explanation = state(request).host.rules.explain(document)
    fired = [(trace, segments(title, trace.title_spans), segments(text, trace.spans)) for trace in explanation.fired]
    return _lab(request, found, text=text, title=title, lang=lang, explanation=explanation, fired=fired)


@router.post("/rules/eval", response_class=HTMLResponse)
def rules_eval(request: Request, found: Poster, corpus: Annotated[str, Form()] = "") -> HTMLResponse:
    """What ``tocsin rules eval CORPUS`` prints: precision, recall and F1 per event and language, and errors."""
    path = _corpora(request).get(corpus)
    if path is None:
        return _lab(request, found, corpus=corpus, error=f"no corpus {corpus!r} (put *.jsonl files in CONFIG/corpus)")
    try:
        rows = read_corpus(path)
    except CorpusError as exc:
        return _lab(request, found, corpus=corpus, error=str(exc))
    report = evaluate_corpus(state(request).host.rules, rows)
    table = [(event, scope or "all", report.total(event, scope)) for event in report.events
             for scope in [*report.languages, None]
             if scope is None or report.total(event, scope).support or report.total(event, scope).fp]
    return _lab(request, found, corpus=corpus, report=report, table=table)


# --- users (admins only) ---------------------------------------------------------------------------------


def _users(request: Request, found: Viewer, *, error: str = "", token: str = "", token_for: str = "",
           status: int = 200) -> HTMLResponse:
    with state(request).read() as session:
        users = repo.all_users(session)
        audit = repo.recent_audit(session, limit=50)
        return render(request, "users.html", found, users=users, roles=ROLES, error=error, token=token,
                      token_for=token_for, audit=audit, status=status)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, found: Admin) -> HTMLResponse:
    return _users(request, found)


def _change(request: Request, found: Viewer, action: str, name: str, **values: str) -> HTMLResponse:
    token = ""
    try:
        with state(request).write() as session:
            if action == "add":
                add_user(session, name.strip(), role=values["role"], password=values["password"], actor=found.name)
            elif action == "role":
                set_role(session, name, role=values["role"], actor=found.name)
            elif action == "password":
                set_password(session, name, password=values["password"], actor=found.name)
            elif action in ("disable", "enable"):
                if name == found.name and action == "disable":
                    raise UserError("you cannot disable yourself")
                set_disabled(session, name, disabled=action == "disable", actor=found.name)
            elif action == "token":
                token = new_api_token(session, name, actor=found.name)
            else:
                raise HTTPException(404, f"no action {action!r}")
    except UserError as exc:
        return _users(request, found, error=str(exc), status=400)
    return _users(request, found, token=token, token_for=name if token else "")


@router.post("/users", response_class=HTMLResponse)
def users_add(request: Request, found: AdminPost, name: Annotated[str, Form()] = "",
              role: Annotated[str, Form()] = "viewer", password: Annotated[str, Form()] = "") -> HTMLResponse:
    return _change(request, found, "add", name, role=role, password=password)


@router.post("/users/{name}/{action}", response_class=HTMLResponse)
def users_change(request: Request, name: str, action: str, found: AdminPost, role: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "") -> HTMLResponse:
    return _change(request, found, action, name, role=role, password=password)
