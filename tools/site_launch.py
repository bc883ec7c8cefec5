"""A lesson page's launch buttons and README.md's Binder line, from the one setting `extra.repository`.

Without a repository URL nothing is made up: the buttons say how to open the lesson from a clone, and
README.md says there is no badge yet (tools/build_site.py checks that README.md carries the line the
setting calls for). With a GitHub URL: mybinder.org links; with `extra.jupyterhub` too: nbgitpuller.
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


BUTTON_WORDS = {
    "en": {
        "how": '; <a href="{howto}">how to set it</a>',
        "lab": "Open in JupyterLab",
        "binder": "Open in Binder",
        "local": "<strong>Open in JupyterLab:</strong> from a clone of the repository, after "
        "<code>pip install -e .</code>, run {local}.",
        "not_github": "<strong>Binder:</strong> only for a GitHub repository; {repository} is not one{more}.",
        "no_repo": "<strong>Open in Binder:</strong> no link, because the repository URL is not configured "
        "(<code>extra.repository</code> in mkdocs.yml is empty){more}.",
    },
    "fr": {
        "how": ' ; <a href="{howto}">comment la définir</a>',
        "lab": "Ouvrir dans JupyterLab",
        "binder": "Ouvrir dans Binder",
        "local": "<strong>Ouvrir dans JupyterLab :</strong> depuis un clone du dépôt, après "
        "<code>pip install -e .</code>, lancez {local}.",
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
    lang: str = "en",
    anchor: str = TEACHING_REPO_ANCHOR,
) -> str:
    """The HTML put at the top of a lesson's page. `notebook` is its path in the repository
    (notebooks/NN-….ipynb); `teaching` the relative URL of the teaching guide's page, `anchor` the id
    of its section on the launch buttons; `lang` the language of the words ("en" or "fr")."""
    words = BUTTON_WORDS[lang]
    local = f"<code>jupyter lab {notebook}</code>"
    howto = f"{teaching}#{anchor}" if teaching else ""
    more = words["how"].format(howto=howto) if howto else ""
    parts = []
    if repository and hub:
        url = nbgitpuller_url(hub, repository, notebook)
        parts.append(f'<a class="md-button md-button--primary" href="{url}">{words["lab"]}</a>')
    else:
        parts.append(words["local"].format(local=local))
    url = binder_url(repository, notebook) if repository else None
    if url:
        parts.append(f'<a class="md-button" href="{url}">{words["binder"]}</a>')
    elif repository:
        parts.append(words["not_github"].format(repository=repository, more=more))
    else:
        parts.append(words["no_repo"].format(more=more))
    if all(part.startswith("<a ") for part in parts):  # two buttons side by side
        parts = [" ".join(parts)]
    return '<div class="wslab-launch">\n<p>' + "</p>\n<p>".join(parts) + "</p>\n</div>"


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
