"""A lesson page's launch buttons and README.md's Binder line, from the one setting `extra.repository`.

Every lesson page opens the lesson in the learner's own JupyterLab (`extra.jupyterlab`, by default the
localhost:8888 that README command (a) starts from a clone). Without a repository URL nothing else is
made up: the page says Binder is not configured, and README.md says there is no badge yet
(tools/build_site.py checks that README.md carries the line the setting calls for). With a GitHub URL:
mybinder.org links; with `extra.jupyterhub` too: nbgitpuller links to that hub.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

TEACHING_REPO_ANCHOR = "the-website-and-its-launch-buttons"


def github_owner_repo(repository: str) -> tuple[str, str] | None:
    """`OWNER`, `REPO` of a https://github.com/OWNER/REPO URL (or None for anything else)."""
    parts = urlsplit(repository.strip())
    bits = [b for b in parts.path.split("/") if b]
    if parts.scheme != "https" or parts.netloc.lower() != "github.com" or len(bits) < 2:
        return None
    return bits[0], bits[1].removesuffix(".git")


def binder_url(repository: str, notebook: str) -> str | None:
    """The mybinder.org link that opens `notebook` (a path in the repository) in JupyterLab."""
    gh = github_owner_repo(repository)
    if gh is None:
        return None
    return f"https://mybinder.org/v2/gh/{gh[0]}/{gh[1]}/HEAD?labpath={quote(notebook)}"


def nbgitpuller_url(hub: str, repository: str, notebook: str, branch: str = "") -> str:
    """The nbgitpuller link that clones (or updates) the repository on `hub` and opens `notebook`."""
    name = urlsplit(repository).path.rstrip("/").split("/")[-1].removesuffix(".git")
    query = f"repo={quote(repository, safe='')}"
    if branch:
        query += f"&branch={quote(branch, safe='')}"
    query += f"&urlpath={quote(f'lab/tree/{name}/{notebook}', safe='')}"
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


# The JupyterLab that README command (a) starts from a clone: `jupyter lab notebooks/…` serves the
# clone's folder on port 8888 (JupyterLab's default), so /lab/tree/<path in the repository> opens a lesson.
LOCAL_LAB = "http://localhost:8888"

BUTTON_WORDS = {
    "en": {
        "how": '; <a href="{howto}">how to set it</a>',
        "lab": "Open in JupyterLab",
        "hub": "Open on {hub}",
        "binder": "Open in Binder",
        "local": "The JupyterLab button opens this lesson in your own JupyterLab at {lab}: start it from a "
        "clone of the repository, after <code>pip install -e .</code>, with {local}.",
        "not_github": "<strong>Binder:</strong> only for a GitHub repository; {repository} is not one{more}.",
        "no_repo": "<strong>Open in Binder:</strong> no link, because the repository URL is not configured "
        "(<code>extra.repository</code> in mkdocs.yml is empty){more}.",
    },
    "fr": {
        "how": ' ; <a href="{howto}">comment la définir</a>',
        "lab": "Ouvrir dans JupyterLab",
        "hub": "Ouvrir sur {hub}",
        "binder": "Ouvrir dans Binder",
        "local": "Le bouton JupyterLab ouvre cette leçon dans votre propre JupyterLab, à {lab} : lancez-le "
        "depuis un clone du dépôt, après <code>pip install -e .</code>, avec {local}.",
        "not_github": "<strong>Binder :</strong> seulement pour un dépôt GitHub ; {repository} n'en est pas "
        "un{more}.",
        "no_repo": "<strong>Ouvrir dans Binder :</strong> pas de lien, car l'URL du dépôt n'est pas "
        "configurée (<code>extra.repository</code> est vide dans mkdocs.yml){more}.",
    },
}


def launch_buttons(
    notebook: str,
    repository: str,
    hub: str = "",
    teaching: str = "",
    *,
    lab: str = LOCAL_LAB,
    lang: str = "en",
    anchor: str = TEACHING_REPO_ANCHOR,
) -> str:
    """The HTML put at the top of a lesson's page. `notebook` is its path in the repository
    (notebooks/NN-….ipynb); `lab` the local JupyterLab's address; `teaching` the relative URL of the
    teaching guide's page, `anchor` the id of its section on the launch buttons; `lang` the language
    of the words ("en" or "fr")."""
    words = BUTTON_WORDS[lang]
    howto = f"{teaching}#{anchor}" if teaching else ""
    more = words["how"].format(howto=howto) if howto else ""
    lab = lab.rstrip("/")
    buttons = [f'<a class="md-button md-button--primary" href="{lab}/lab/tree/{notebook}">{words["lab"]}</a>']
    notes = [words["local"].format(lab=f"<code>{lab}</code>", local=f"<code>jupyter lab {notebook}</code>")]
    if repository and hub:
        host = urlsplit(hub).netloc or hub
        url = nbgitpuller_url(hub, repository, notebook)
        buttons.append(f'<a class="md-button" href="{url}">{words["hub"].format(hub=host)}</a>')
    url = binder_url(repository, notebook) if repository else None
    if url:
        buttons.append(f'<a class="md-button" href="{url}">{words["binder"]}</a>')
    elif repository:
        notes.append(words["not_github"].format(repository=repository, more=more))
    else:
        notes.append(words["no_repo"].format(more=more))
    return '<div class="wslab-launch">\n<p>' + "</p>\n<p>".join([" ".join(buttons), *notes]) + "</p>\n</div>"


BADGE_NOTE = (
    "*Binder: no launch badge yet, because the repository URL is not configured "
    "(`extra.repository` in mkdocs.yml); see [docs/teaching.md](docs/teaching.md#on-binder).*"
)


def readme_badge(repository: str) -> str:
    """README.md's badge line for this setting: a Binder badge, or a plain note when it is empty."""
    url = binder_url(repository, "notebooks/01-first-connection.ipynb") if repository else None
    if url is None:
        return BADGE_NOTE
    return f"[![Open the lessons in Binder](https://mybinder.org/badge_logo.svg)]({url})"


def check_readme_badge(readme: str, repository: str) -> str | None:
    """None when README.md carries the badge line that `repository` calls for, else what to fix."""
    want = readme_badge(repository)
    if want in readme.splitlines():
        return None
    return f"README.md must carry this line for extra.repository = {repository!r}:\n{want}"


def badge_line(line: str) -> bool:
    """Whether a README line is the Binder line (a badge, or the note that there is none yet)."""
    return "mybinder.org/badge" in line or line == BADGE_NOTE or line.startswith("*Binder : pas encore")
